// libpng 1.6, from the Debian package libpng-dev: decodes the PNG images of folder datasets. Only its
// "simplified API" (png_image_*) is used: it reports errors through png_image.message instead of longjmp,
// and converts grey, palette, alpha and 16-bit images to the 8-bit format asked for.
#if __has_include(<png.h>)
#include <png.h>
#else
#error "libpng headers not found: install the Debian package libpng-dev (apt-get install libpng-dev, or run: make setup)"
#endif
