/* Compiled with the writer's include path (ctest arch_compile_refuses_writer_transform): must not
   compile, as the writer sees no transform header. */
#include "lk_transform.h"
