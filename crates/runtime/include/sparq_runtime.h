/* sparq_runtime.h: run a policy exported by `sparq export --format policy` from C or C++.
 *
 * Link libsparq_runtime.a (with -lpthread -ldl -lm) or libsparq_runtime.so. Every call returns
 * SPARQ_OK (0) or an error code; sparq_last_error() then gives a one-line message. No call
 * aborts the process. A policy is not thread-safe: load one per thread (weights are small).
 * q_values and act allocate nothing. */
#ifndef SPARQ_RUNTIME_H
#define SPARQ_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    SPARQ_OK = 0,
    SPARQ_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer */
    SPARQ_ERR_IO = 2,               /* the file could not be read */
    SPARQ_ERR_FORMAT = 3,           /* not a policy file, truncated, corrupted */
    SPARQ_ERR_VERSION = 4,          /* a format version this runtime does not read */
    SPARQ_ERR_OBS_LENGTH = 5,       /* obs_count is not a positive multiple of obs_len */
    SPARQ_ERR_OUTPUT_LENGTH = 6,    /* q_count or actions_count does not match the batch */
    SPARQ_ERR_INTERNAL = 7          /* a bug, caught */
};

typedef struct sparq_policy sparq_policy;

int sparq_policy_load(const char *path, sparq_policy **out);
int sparq_policy_load_bytes(const uint8_t *data, size_t len, sparq_policy **out);
void sparq_policy_free(sparq_policy *policy);

/* Floats in one observation, and the number of actions (0 for NULL). */
size_t sparq_policy_obs_len(const sparq_policy *policy);
size_t sparq_policy_num_actions(const sparq_policy *policy);

/* A batch of n = obs_count / obs_len observations, back to back: q receives n * num_actions
 * Q-values, actions n greedy actions (ties: the lowest index). */
int sparq_policy_q_values(sparq_policy *policy, const float *obs, size_t obs_count, float *q,
                          size_t q_count);
int sparq_policy_act(sparq_policy *policy, const float *obs, size_t obs_count, int32_t *actions,
                     size_t actions_count);

/* The last error on this thread ("" if none); valid until the next call. */
const char *sparq_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
