/* Compiled with lake/'s include path (ctest arch_compile_refuses_lake_sqlite): must not compile. */
#include <sqlite3.h>
