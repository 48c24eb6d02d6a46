// JPEG decoding and encoding on libjpeg-turbo (Debian: libjpeg62-turbo-dev), with every libjpeg error and
// corrupt-data warning returned as a message instead of longjmp-ing through Swift frames or exiting.
#ifndef SHEARS_CJPEG_H
#define SHEARS_CJPEG_H
#include <stddef.h>

/// Decodes the JPEG in `data[0..<size]` to 8-bit interleaved RGB (grey and CMYK/YCCK images converted).
/// On success returns 0 and sets `*rgb` (malloc'ed, width·height·3 bytes; the caller frees it), `*width`,
/// `*height`. On failure returns -1, leaves `*rgb` NULL and writes a NUL-terminated reason into `message`.
int shears_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                           char *message, size_t message_capacity);

/// Encodes `pixels` (width·height·components bytes, components 1 = grey, 3 = RGB or 4 = CMYK, written with
/// the Adobe marker as Photoshop writes it) at `quality` (1–100).
/// On success returns 0 and sets `*jpeg` (malloc'ed; the caller frees it) and `*jpeg_size`.
int shears_jpeg_encode(const unsigned char *pixels, int width, int height, int components, int quality,
                       unsigned char **jpeg, unsigned long *jpeg_size, char *message, size_t message_capacity);

#endif
