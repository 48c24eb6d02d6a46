// zlib, from the Debian package zlib1g-dev: reads the .gz files MNIST ships as.
#if __has_include(<zlib.h>)
#include <zlib.h>
#else
#error "zlib headers not found: install the Debian package zlib1g-dev (apt-get install zlib1g-dev, or run: make setup)"
#endif
