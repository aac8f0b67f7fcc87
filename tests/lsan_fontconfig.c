/* Sanitizer builds only, compiled into every program that links nabla::plot: fontconfig
 * keeps the patterns cairo's font cache asked it for until FcFini(), which a library
 * cannot call on its caller's behalf; LeakSanitizer would report them at exit in every
 * program that draws text. They are not nabla's. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "print_suppressions=0"; }
