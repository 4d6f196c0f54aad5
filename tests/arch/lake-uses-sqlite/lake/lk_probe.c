/* lake/ with SQLite and state.db: refused (lake/ stands alone: no ZeroMQ, no SQLite, no workers). */
#include <sqlite3.h>

#include "lk_state.h"
