/*
 * A stand-in for libnvidia-ml.so.1 with the real NVML ABI (types and
 * struct layouts as nvml.h and nvml-wrapper-sys declare them), for tests
 * on machines without a GPU. It implements exactly the entry points
 * gpu-probe calls through nvml-wrapper. Its answers come from the scenario
 * file named by $FAKE_NVML_SCENARIO, read at nvmlInit_v2:
 *
 *   init 18                      nvmlInit_v2 returns this code (18: version mismatch)
 *   driver 550.54.14
 *   gpus 2
 *   gpu 0 name NVIDIA GeForce RTX 4090
 *   gpu 0 uuid GPU-...
 *   gpu 0 util 12 3              GPU and memory utilisation, percent
 *   gpu 0 memory TOTAL USED FREE bytes
 *   gpu 0 temp 45                celsius
 *   gpu 0 power 35000            milliwatts
 *   gpu 0 limit 450000           milliwatts
 *   gpu 0 pstate 8
 *   gpu 0 compute PID BYTES|na   a compute process (repeatable)
 *   gpu 0 graphics PID BYTES|na  a graphics process (repeatable)
 *   gpu 0 unsupported FIELD      NOT_SUPPORTED for name, uuid, util, memory,
 *                                temp, power, limit, pstate or processes
 *   gpu 0 error FIELD CODE       that query returns CODE (999: UNKNOWN)
 *   gpu 0 hang FIELD             that query never returns (a wedged driver)
 *   gpu 0 lost                   every query of this GPU: GPU_IS_LOST
 *   gpu 0 handle_lost            nvmlDeviceGetHandleByIndex_v2: GPU_IS_LOST
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not an NVML code: marks a query that never returns. */
#define HANG (-1)

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};

typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

typedef struct {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_v2_t;

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t;

#define MAX_GPUS 64
#define MAX_PROCS 256
#define NOT_AVAILABLE 0xFFFFFFFFFFFFFFFFULL

enum { F_NAME, F_UUID, F_UTIL, F_MEMORY, F_TEMP, F_POWER, F_LIMIT, F_PSTATE, F_PROCS, F_COUNT };
static const char *const FIELD_NAMES[F_COUNT] = {
    "name", "uuid", "util", "memory", "temp", "power", "limit", "pstate", "processes",
};

struct proc {
    unsigned int pid;
    unsigned long long bytes;
};

struct gpu {
    char name[96];
    char uuid[96];
    unsigned int util_gpu, util_mem, temp, power, limit, pstate;
    unsigned long long total, used, free;
    nvmlReturn_t fail[F_COUNT];
    int lost, handle_lost;
    struct proc compute[MAX_PROCS], graphics[MAX_PROCS];
    unsigned int n_compute, n_graphics;
};

static struct gpu gpus[MAX_GPUS];
static unsigned int gpu_count;
static char driver[80] = "550.54.14";
static int initialised;

static unsigned long long bytes_or_na(const char *text) {
    return strcmp(text, "na") == 0 ? NOT_AVAILABLE : strtoull(text, NULL, 10);
}

static void add_proc(struct proc *list, unsigned int *n, const char *rest) {
    char amount[32];
    unsigned int pid;
    if (*n < MAX_PROCS && sscanf(rest, "%u %31s", &pid, amount) == 2) {
        list[*n].pid = pid;
        list[*n].bytes = bytes_or_na(amount);
        (*n)++;
    }
}

static void set_failure(struct gpu *g, const char *field, nvmlReturn_t code) {
    for (int f = 0; f < F_COUNT; f++)
        if (strcmp(field, FIELD_NAMES[f]) == 0) g->fail[f] = code;
}

static void gpu_line(struct gpu *g, const char *key, const char *rest) {
    if (strcmp(key, "name") == 0) snprintf(g->name, sizeof g->name, "%s", rest);
    else if (strcmp(key, "uuid") == 0) snprintf(g->uuid, sizeof g->uuid, "%s", rest);
    else if (strcmp(key, "util") == 0) sscanf(rest, "%u %u", &g->util_gpu, &g->util_mem);
    else if (strcmp(key, "memory") == 0) sscanf(rest, "%llu %llu %llu", &g->total, &g->used, &g->free);
    else if (strcmp(key, "temp") == 0) g->temp = (unsigned)strtoul(rest, NULL, 10);
    else if (strcmp(key, "power") == 0) g->power = (unsigned)strtoul(rest, NULL, 10);
    else if (strcmp(key, "limit") == 0) g->limit = (unsigned)strtoul(rest, NULL, 10);
    else if (strcmp(key, "pstate") == 0) g->pstate = (unsigned)strtoul(rest, NULL, 10);
    else if (strcmp(key, "compute") == 0) add_proc(g->compute, &g->n_compute, rest);
    else if (strcmp(key, "graphics") == 0) add_proc(g->graphics, &g->n_graphics, rest);
    else if (strcmp(key, "lost") == 0) g->lost = 1;
    else if (strcmp(key, "handle_lost") == 0) g->handle_lost = 1;
    else if (strcmp(key, "unsupported") == 0) set_failure(g, rest, NVML_ERROR_NOT_SUPPORTED);
    else if (strcmp(key, "hang") == 0) set_failure(g, rest, HANG);
    else if (strcmp(key, "error") == 0) {
        char field[32];
        int code;
        if (sscanf(rest, "%31s %d", field, &code) == 2) set_failure(g, field, code);
    }
}

/* Returns the code nvmlInit_v2 should return. */
static nvmlReturn_t load_scenario(void) {
    const char *path = getenv("FAKE_NVML_SCENARIO");
    FILE *file = path ? fopen(path, "r") : NULL;
    if (!file) {
        fprintf(stderr, "fake NVML: cannot read $FAKE_NVML_SCENARIO (%s)\n", path ? path : "unset");
        return NVML_ERROR_UNKNOWN;
    }
    nvmlReturn_t init = NVML_SUCCESS;
    char line[512];
    memset(gpus, 0, sizeof gpus);
    gpu_count = 0;
    while (fgets(line, sizeof line, file)) {
        line[strcspn(line, "\n")] = '\0';
        char key[32] = "";
        unsigned int index;
        int used = 0;
        if (sscanf(line, "gpu %u %31s %n", &index, key, &used) >= 2 && index < MAX_GPUS) {
            gpu_line(&gpus[index], key, used ? line + used : "");
        } else if (sscanf(line, "init %d", &init) == 1) {
        } else if (sscanf(line, "gpus %u", &gpu_count) == 1) {
            if (gpu_count > MAX_GPUS) gpu_count = MAX_GPUS;
        } else if (strncmp(line, "driver ", 7) == 0) {
            snprintf(driver, sizeof driver, "%.79s", line + 7);
        }
    }
    fclose(file);
    return init;
}

nvmlReturn_t nvmlInit_v2(void) {
    nvmlReturn_t code = load_scenario();
    if (code == NVML_SUCCESS) initialised++;
    return code;
}

nvmlReturn_t nvmlShutdown(void) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    initialised--;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t code) {
    return code == NVML_SUCCESS ? "Success" : "fake NVML error";
}

static nvmlReturn_t copy_string(char *out, unsigned int length, const char *value) {
    if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(out, value);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    return copy_string(version, length, driver);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    *count = gpu_count;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, struct gpu **device) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (index >= gpu_count || !device) return NVML_ERROR_INVALID_ARGUMENT;
    if (gpus[index].handle_lost) return NVML_ERROR_GPU_IS_LOST;
    *device = &gpus[index];
    return NVML_SUCCESS;
}

/* The common gate of every device query. */
static nvmlReturn_t query(const struct gpu *g, int field) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (g < gpus || g >= gpus + gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->lost) return NVML_ERROR_GPU_IS_LOST;
    while (g->fail[field] == HANG) pause();
    return g->fail[field];
}

nvmlReturn_t nvmlDeviceGetName(struct gpu *g, char *name, unsigned int length) {
    nvmlReturn_t code = query(g, F_NAME);
    return code ? code : copy_string(name, length, g->name);
}

nvmlReturn_t nvmlDeviceGetUUID(struct gpu *g, char *uuid, unsigned int length) {
    nvmlReturn_t code = query(g, F_UUID);
    return code ? code : copy_string(uuid, length, g->uuid);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(struct gpu *g, nvmlUtilization_t *util) {
    nvmlReturn_t code = query(g, F_UTIL);
    if (code) return code;
    util->gpu = g->util_gpu;
    util->memory = g->util_mem;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(struct gpu *g, nvmlMemory_v2_t *memory) {
    nvmlReturn_t code = query(g, F_MEMORY);
    if (code) return code;
    /* NVML_STRUCT_VERSION(Memory, 2): a caller with another layout is refused. */
    if (memory->version != (unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    memory->total = g->total;
    memory->used = g->used;
    memory->free = g->free;
    memory->reserved = g->total - g->used - g->free;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(struct gpu *g, int sensor, unsigned int *temp) {
    nvmlReturn_t code = query(g, F_TEMP);
    if (code) return code;
    if (sensor != 0) return NVML_ERROR_INVALID_ARGUMENT;
    *temp = g->temp;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(struct gpu *g, unsigned int *milliwatts) {
    nvmlReturn_t code = query(g, F_POWER);
    if (!code) *milliwatts = g->power;
    return code;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(struct gpu *g, unsigned int *milliwatts) {
    nvmlReturn_t code = query(g, F_LIMIT);
    if (!code) *milliwatts = g->limit;
    return code;
}

nvmlReturn_t nvmlDeviceGetPerformanceState(struct gpu *g, int *pstate) {
    nvmlReturn_t code = query(g, F_PSTATE);
    if (!code) *pstate = (int)g->pstate;
    return code;
}

/* NVML's two-call protocol: too small a buffer (or none) gets the count
 * and INSUFFICIENT_SIZE; no processes at all is SUCCESS with a count of 0. */
static nvmlReturn_t list(const struct gpu *g, int graphics, unsigned int *count,
                         nvmlProcessInfo_t *infos) {
    nvmlReturn_t code = query(g, F_PROCS);
    if (code) return code;
    const struct proc *procs = graphics ? g->graphics : g->compute;
    unsigned int n = graphics ? g->n_graphics : g->n_compute;
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    if (n > 0 && (!infos || *count < n)) {
        *count = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    for (unsigned int i = 0; i < n; i++) {
        infos[i].pid = procs[i].pid;
        infos[i].usedGpuMemory = procs[i].bytes;
        infos[i].gpuInstanceId = 0xFFFFFFFFu;
        infos[i].computeInstanceId = 0xFFFFFFFFu;
    }
    *count = n;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(struct gpu *g, unsigned int *count,
                                                      nvmlProcessInfo_t *infos) {
    return list(g, 0, count, infos);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(struct gpu *g, unsigned int *count,
                                                       nvmlProcessInfo_t *infos) {
    return list(g, 1, count, infos);
}
