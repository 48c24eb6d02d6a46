#!/usr/bin/env python3
"""Writes the NumPy fixtures of Tests/ShearsDataTests (run offline, outputs committed, a few KB in all).

Every array's values follow a formula the Swift tests recompute, so a misplaced element shows up:
  uint8 images  x[n, h, w, c] = (31n + 7h + 3w + 11c + salt) % 256   (index order of the saved array)
  float images  x[n, c, h, w] = (n + 0.25c + 0.125h + 0.0625w) / 8 (+ 0.5 for the test split)
  labels        y[i] = (3i + salt) % classes
Usage: python3 make_npy_fixtures.py   (numpy >= 1.17; writes next to this script)
"""
import os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))


def uint8_images(n, h, w, c, salt):
    i = np.indices((n, h, w, c))
    return ((31 * i[0] + 7 * i[1] + 3 * i[2] + 11 * i[3] + salt) % 256).astype(np.uint8)


def float_images(n, c, h, w, offset):
    i = np.indices((n, c, h, w)).astype(np.float64)
    return ((i[0] + 0.25 * i[1] + 0.125 * i[2] + 0.0625 * i[3]) / 8 + offset).astype(np.float32)


def labels(n, classes, salt, dtype):
    return ((3 * np.arange(n) + salt) % classes).astype(dtype)


# NHWC uint8, int64 labels, stored members (np.savez), 4 classes.
np.savez(os.path.join(here, "nhwc_uint8.npz"),
         x_train=uint8_images(6, 4, 5, 3, 0), y_train=labels(6, 4, 0, np.int64),
         x_test=uint8_images(2, 4, 5, 3, 1), y_test=labels(2, 4, 1, np.int64))

# NCHW float32 grey, int32 / uint8 labels, deflated members (np.savez_compressed), 3 classes.
np.savez_compressed(os.path.join(here, "nchw_float32_compressed.npz"),
                    x_train=float_images(5, 1, 3, 4, 0.0), y_train=labels(5, 3, 0, np.int32),
                    x_test=float_images(3, 1, 3, 4, 0.5), y_test=labels(3, 3, 2, np.uint8))

# A Fortran-ordered array and format versions 2.0 and 3.0 of the same NHWC uint8 images.
np.save(os.path.join(here, "fortran_uint8.npy"), np.asfortranarray(uint8_images(2, 3, 4, 3, 5)))
for version in [(2, 0), (3, 0)]:
    with open(os.path.join(here, "v%d_uint8.npy" % version[0]), "wb") as f:
        np.lib.format.write_array(f, uint8_images(2, 3, 4, 3, 5), version=version)
