/* lk_source — ingest's source, files or Kafka; see lk_source.h. */
#include "lk_source.h"

#include "lk_file_source.h"
#include "lk_kafka_source.h"
#include "lk_source_cfg.h"

lk_source *lk_source_new(const lk_source_env *env, lk_error *err)
{
    switch (lk_source_cfg_kind(env->cfg)) {
    case LK_SOURCE_KAFKA:
        return lk_kafka_source_new(env, err);
    case LK_SOURCE_FILES:
        break;
    }
    return lk_file_source_new(env, err);
}

void lk_source_destroy(lk_source **s)
{
    if (!*s) return;
    (*s)->ops->destroy(*s);
    *s = NULL;
}
