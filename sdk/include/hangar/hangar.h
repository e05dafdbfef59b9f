/* hangar.h - includes the whole SDK. */
#ifndef HANGAR_HANGAR_H
#define HANGAR_HANGAR_H

#include "status.h"
#include "plugin.h"
#include "host.h"
#include "net.h"
#include "frame.h"
#include "runtime_mode.h"
#include "pipeline.h"
#include "connector.h"
#include "processor.h"
#include "histogram.h"
#include "net_ext.h"

#endif /* HANGAR_HANGAR_H */
