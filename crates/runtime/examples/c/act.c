/* The shortest C program that loads a policy and acts: act POLICY_FILE [OBS...]
 * Prints the greedy action; with too few OBS values it shows the error a wrong length gives. */
#include <stdio.h>
#include <stdlib.h>
#include "sparq_runtime.h"

int main(int argc, char **argv) {
    sparq_policy *policy;
    if (argc < 2 || sparq_policy_load(argv[1], &policy) != SPARQ_OK) {
        fprintf(stderr, "act: %s\n", argc < 2 ? "usage: act POLICY_FILE [OBS...]" : sparq_last_error());
        return 1;
    }
    float obs[4096];
    size_t n = 0;
    for (int i = 2; i < argc && n < 4096; i++) obs[n++] = strtof(argv[i], NULL);
    int32_t action;
    int rc = sparq_policy_act(policy, obs, n, &action, 1);
    if (rc != SPARQ_OK) {
        fprintf(stderr, "act: %s\n", sparq_last_error());
    } else {
        printf("%d\n", action);
    }
    sparq_policy_free(policy);
    return rc;
}
