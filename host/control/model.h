/* model.h - model-first streams: the "hangar.model/1" service, through which any engine opens
 * streams of a loaded connector engine at run time and drives them itself. */
#ifndef HG_MODEL_H
#define HG_MODEL_H

#include <hangar/connector.h>

extern const hg_model_api hg__model_api_table;

#endif
