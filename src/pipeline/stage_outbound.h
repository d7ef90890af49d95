/*
 * stage_outbound - the outbound spam policy of the outbound stage, as
 * plain functions the unit tests reach (the stage is in stage_outbound.c)
 */
#ifndef SMEXOP_PIPELINE_STAGE_OUTBOUND_H
#define SMEXOP_PIPELINE_STAGE_OUTBOUND_H

#include <stdint.h>

#include "store/store.h"

struct config_outbound_spam;

enum stage_outbound_action {
	STAGE_OUTBOUND_BLOCK_TODAY,
	STAGE_OUTBOUND_RESTRICT,
	STAGE_OUTBOUND_ALERT,
};

struct stage_outbound_limits {
	uint64_t external_per_hour; /* 0: none */
	uint64_t internal_per_hour;
	uint64_t per_day;
	enum stage_outbound_action action;
};

/* stage_outbound_limits_config - from the configuration (NULL: EOP's
 * Standard values: 500 external and 1000 internal per hour, 1000 a day,
 * block for the rest of the day) */
void stage_outbound_limits_config(const struct config_outbound_spam *c,
                                  struct stage_outbound_limits *l);
/* stage_outbound_over - the limit that external + internal more
 * recipients would exceed on top of counts c ("external_per_hour",
 * "internal_per_hour", "per_day"), or NULL */
const char *stage_outbound_over(const struct stage_outbound_limits *l,
                                const struct store_sender_counts *c, uint64_t external,
                                uint64_t internal);
const char *stage_outbound_action_name(enum stage_outbound_action a);

#endif
