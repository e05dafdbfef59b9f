/* adapter.c - the adapter of each engine kind this host runs (the connector's lives with the
 * stream runtime, host/stream). Processors have none yet: an instance of that kind is refused at
 * create, with that reason. */
#include "entry.h"

const hg__adapter *hg__adapter_for(uint32_t kind)
{
    switch (kind) {
    case HG_KIND_RUNTIME_MODE: return &hg__runtime_adapter;
    case HG_KIND_PIPELINE: return &hg__pipeline_adapter;
    case HG_KIND_CONNECTOR: return &hg__connector_adapter;
    default: return NULL;
    }
}
