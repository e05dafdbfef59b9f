/* adapter.c - the adapter of each engine kind this host runs. Connectors and processors have
 * none yet: an instance of those kinds is refused at create, with that reason. */
#include "entry.h"

const hg__adapter *hg__adapter_for(uint32_t kind)
{
    switch (kind) {
    case HG_KIND_RUNTIME_MODE: return &hg__runtime_adapter;
    case HG_KIND_PIPELINE: return &hg__pipeline_adapter;
    default: return NULL;
    }
}
