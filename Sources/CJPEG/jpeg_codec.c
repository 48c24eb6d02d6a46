// libjpeg's default error handler calls exit(); the documented alternative is a setjmp/longjmp pair, which
// must stay inside C (a longjmp across Swift frames is undefined). Warnings matter too: a truncated file
// only raises the warning "Premature end of JPEG file" and decodes the rest as grey, so any warning about
// corrupt data fails the decode, as PIL does for truncated images.
#if __has_include(<jpeglib.h>)
#include <stdio.h>
#include <jpeglib.h>
#else
#error "libjpeg headers not found: install the Debian package libjpeg62-turbo-dev (apt-get install libjpeg62-turbo-dev, or run: make setup)"
#endif
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include "cjpeg.h"

struct shears_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int warned;
    char warning[JMSG_LENGTH_MAX];
};

static void shears_error_exit(j_common_ptr info) {
    struct shears_error *e = (struct shears_error *)info->err;
    longjmp(e->jump, 1);
}

static void shears_emit_message(j_common_ptr info, int level) {
    struct shears_error *e = (struct shears_error *)info->err;
    if (level < 0 && !e->warned) {   // level -1: a warning (corrupt data); ≥ 0: trace messages
        e->warned = 1;
        info->err->format_message(info, e->warning);
    }
    if (level < 0) info->err->num_warnings++;
}

static void copy_message(char *message, size_t capacity, const char *text) {
    if (capacity == 0) return;
    strncpy(message, text, capacity - 1);
    message[capacity - 1] = 0;
}

static void install(struct shears_error *e) {
    jpeg_std_error(&e->base);
    e->base.error_exit = shears_error_exit;
    e->base.emit_message = shears_emit_message;
    e->warned = 0;
    e->warning[0] = 0;
}

// CMYK from Adobe files is stored inverted (what Photoshop writes); R = C·K / 255 on the stored values.
static void cmyk_to_rgb(const unsigned char *cmyk, unsigned char *rgb, size_t pixels, int inverted) {
    for (size_t i = 0; i < pixels; i++) {
        int c = cmyk[4 * i], m = cmyk[4 * i + 1], y = cmyk[4 * i + 2], k = cmyk[4 * i + 3];
        if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
        rgb[3 * i] = (unsigned char)((c * k + 127) / 255);
        rgb[3 * i + 1] = (unsigned char)((m * k + 127) / 255);
        rgb[3 * i + 2] = (unsigned char)((y * k + 127) / 255);
    }
}

int shears_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                           char *message, size_t message_capacity) {
    struct jpeg_decompress_struct info;
    struct shears_error e;
    unsigned char *volatile out = NULL, *volatile scratch = NULL;
    *rgb = NULL;
    info.err = &e.base;
    install(&e);
    if (setjmp(e.jump)) {
        char text[JMSG_LENGTH_MAX];
        e.base.format_message((j_common_ptr)&info, text);
        copy_message(message, message_capacity, text);
        jpeg_destroy_decompress(&info);
        free(out);
        free(scratch);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    int cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
    info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t w = info.output_width, h = info.output_height, channels = (size_t)info.output_components;
    out = malloc(w * h * 3);
    if (cmyk) scratch = malloc(w * channels);
    if (!out || (cmyk && !scratch)) {
        copy_message(message, message_capacity, "out of memory");
        jpeg_destroy_decompress(&info);
        free(out);
        free(scratch);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        size_t row = info.output_scanline;
        JSAMPROW target = cmyk ? scratch : out + row * w * 3;
        jpeg_read_scanlines(&info, &target, 1);
        if (cmyk) cmyk_to_rgb(scratch, out + row * w * 3, w, info.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&info);
    int warned = e.warned;
    if (warned) copy_message(message, message_capacity, e.warning);
    jpeg_destroy_decompress(&info);
    free(scratch);
    if (warned) {
        free(out);
        return -1;
    }
    *rgb = out;
    *width = (int)w;
    *height = (int)h;
    return 0;
}

int shears_jpeg_encode(const unsigned char *pixels, int width, int height, int components, int quality,
                       unsigned char **jpeg, unsigned long *jpeg_size, char *message, size_t message_capacity) {
    struct jpeg_compress_struct info;
    struct shears_error e;
    *jpeg = NULL;
    *jpeg_size = 0;
    if (components != 1 && components != 3 && components != 4) {
        copy_message(message, message_capacity, "components must be 1 (grey), 3 (RGB) or 4 (CMYK)");
        return -1;
    }
    info.err = &e.base;
    install(&e);
    if (setjmp(e.jump)) {
        char text[JMSG_LENGTH_MAX];
        e.base.format_message((j_common_ptr)&info, text);
        copy_message(message, message_capacity, text);
        jpeg_destroy_compress(&info);
        *jpeg = NULL;   // libjpeg may have reallocated the buffer without updating *jpeg: leak it, never double-free
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, jpeg, jpeg_size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = components;
    info.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&info);   // for CMYK this also writes the Adobe marker (values stored as given)
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * (size_t)width * (size_t)components);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    return 0;
}
