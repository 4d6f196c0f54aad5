/* A writer reaching into a transform: refused (workers meet only through proto/ messages). */
#include "lk_transform.h"
