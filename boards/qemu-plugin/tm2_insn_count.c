/*
 * tm2_insn_count: a QEMU TCG plugin that counts the guest instructions executed between calls of two
 * marker functions, `tm2_count_begin()` and `tm2_count_end()`, and writes one count per begin/end pair.
 *
 * Why markers: the firmware brackets exactly the inference call with the two (noinline, empty) functions,
 * so start-up, semihosting printf and test-vector I/O are not counted. The harness reads the markers'
 * addresses from the ELF and passes them here.
 *
 * Why it is cheap: every translated block gets one inline "add n_insns" on a global counter (no callback
 * per instruction). Only the two marker instructions get a real callback, which snapshots that counter.
 * Block counters are bumped when a block starts, before its first instruction's callback, so:
 *  - the snapshot at the begin marker already includes the whole begin-marker block (its return too);
 *  - at the end marker the end-marker block has just been added; the callback takes it back out.
 * A region's count is thus exactly the instructions executed after tm2_count_begin() returns, up to and
 * including the call instruction of tm2_count_end(): an empty region counts 1. It repeats exactly from
 * run to run (one vCPU, no interrupts in tinym2 firmware).
 *
 * Arguments (QEMU 7.2 syntax `-plugin lib.so,name=value,...`):
 *   begin=0xADDR   address of tm2_count_begin (Thumb bit ignored)
 *   end=0xADDR     address of tm2_count_end
 *                  (without both, only the total is counted: for programs that have no markers)
 *   out=PATH       file to write results to (default: QEMU's plugin log, i.e. stderr with -d plugin)
 *   mix=1          also count each region's instruction mix (classes below), for cycle models
 *   stack=LO:HI    stack high-water mark inside regions: the lowest address written within [LO, HI) while a
 *                  region runs is written at exit as `stack_low 0x<addr>` (a callback per store: slower)
 *   funcs=PATH     per-function profile: PATH lists functions as `<start> <end>` (hex, one per line, sorted);
 *                  instructions inside regions are attributed to the function holding their block's first
 *                  instruction, and `func <line index> <instructions>` is written at exit for nonzero ones
 * Output lines: `region <index> <instructions>` at each end marker (with mix=1 followed by
 * `mix <index> alu=.. load=.. store=.. mul=.. div=.. branch=.. fp=.. regs=..`), then `total <instructions>`.
 *
 * Instruction classes come from the disassembly, once per translated instruction (so they cost nothing per
 * execution): load/store (incl. push/pop, ldm/stm, ldp/stp, vldr/vstr), mul (multiply, multiply-accumulate,
 * dot products), div, branch (incl. pop/ldm that load pc), fp (VFP/NEON "v..." on Arm, "f..." on AArch64),
 * alu (the rest). `regs` counts the registers beyond the first moved by multi-register loads/stores.
 *
 * Debian does not package qemu-plugin.h, so the few declarations used are written out below; they match
 * the plugin API version 1 of QEMU 7.x.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The subset of QEMU's plugin API (include/qemu/qemu-plugin.h, API version 1) used here. ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef struct {
  const char *target_name;
  struct { int min; int cur; } version;
  bool system_emulation;
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef uint32_t qemu_plugin_meminfo_t;
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W = 2, QEMU_PLUGIN_MEM_RW = 3 };
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb, enum qemu_plugin_cb_flags flags,
                                      enum qemu_plugin_mem_rw rw, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *insn); /* g_malloc'd: plain free() (GLib >= 2.46) */
void qemu_plugin_outs(const char *string);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* ---- State. One vCPU on every target tinym2 runs (Cortex-M, single-threaded user-mode program). ---- */
static uint64_t executed;       /* instructions of all executed blocks, bumped inline per block */
static uint64_t region_start;   /* `executed` when the begin marker ran */
static bool in_region;
static unsigned regions_done;
static uint64_t begin_addr, end_addr, addr_mask = ~(uint64_t)0;
static bool have_markers;

enum { C_ALU, C_LOAD, C_STORE, C_MUL, C_DIV, C_BRANCH, C_FP, C_REGS, N_CLASSES };
static const char *const class_names[N_CLASSES] = {"alu", "load", "store", "mul", "div", "branch", "fp", "regs"};
static bool count_mix;
static uint64_t class_executed[N_CLASSES]; /* bumped inline per block, like `executed` */
static uint64_t class_start[N_CLASSES];

/* Stack high-water mark (stack=LO:HI): lowest stack address stored to inside a region. */
static bool watch_stack;
static uint64_t stack_lo, stack_hi, stack_low_seen = UINT64_MAX;

static void on_store(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
  (void)vcpu; (void)info; (void)udata;
  if (in_region && vaddr >= stack_lo && vaddr < stack_hi && vaddr < stack_low_seen) stack_low_seen = vaddr;
}

/* Per-function profile (funcs=PATH): address ranges sorted by start, a counter per range bumped inline
 * per block, snapshotted at the begin marker and accumulated into func_in_regions at the end marker. */
static size_t n_funcs;
static uint64_t *func_lo, *func_hi;
static uint64_t *func_executed, *func_start, *func_in_regions;

static bool load_funcs(const char *file) {
  FILE *f = fopen(file, "r");
  if (!f) return false;
  size_t cap = 0;
  unsigned long long lo, hi;
  while (fscanf(f, "%llx %llx", &lo, &hi) == 2) {
    if (n_funcs == cap) {
      cap = cap ? cap * 2 : 256;
      func_lo = realloc(func_lo, cap * sizeof *func_lo);
      func_hi = realloc(func_hi, cap * sizeof *func_hi);
      if (!func_lo || !func_hi) { fclose(f); return false; }
    }
    func_lo[n_funcs] = lo & addr_mask;
    func_hi[n_funcs] = hi & addr_mask;
    n_funcs++;
  }
  fclose(f);
  func_executed = calloc(n_funcs + 1, sizeof *func_executed);
  func_start = calloc(n_funcs + 1, sizeof *func_start);
  func_in_regions = calloc(n_funcs + 1, sizeof *func_in_regions);
  return func_executed && func_start && func_in_regions;
}

/* Index of the range holding pc, or n_funcs when none does. */
static size_t func_of(uint64_t pc) {
  size_t a = 0, b = n_funcs;
  while (a < b) {
    size_t m = (a + b) / 2;
    if (func_lo[m] <= pc) a = m + 1; else b = m;
  }
  return a > 0 && pc < func_hi[a - 1] ? a - 1 : n_funcs;
}

/* What the end-marker block added before its callback ran (taken back out of the region). */
struct block_tail {
  uint64_t insns;
  uint64_t classes[N_CLASSES];
  size_t func; /* function of the end-marker block (its tail is taken out of that counter) */
};
static FILE *out_file;

static void emit(const char *line) {
  if (out_file) {
    fputs(line, out_file);
    fflush(out_file); /* a later crash or timeout must not lose the counts already taken */
  } else {
    qemu_plugin_outs(line);
  }
}

static bool starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static bool is_condition(const char *s) {
  static const char *const conds[] = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", ""};
  for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) if (strcmp(s, conds[i]) == 0) return true;
  return false;
}

/* Class of one instruction from its disassembly ("ldr.w r3, [r1], #4", "b.ne 0x400710", "push {r4, r5, lr}");
 * *regs gets the number of registers beyond the first that a multi-register transfer moves. */
static int classify(const char *disas, uint64_t *regs) {
  char m[32];
  size_t k = 0;
  while (disas[k] && disas[k] != ' ' && disas[k] != '\t' && k < sizeof m - 1) { m[k] = disas[k]; k++; }
  m[k] = '\0';
  char *dot = strchr(m, '.'); /* width (.w/.n) or AArch64 condition (b.ne) suffix */
  bool aarch64_cond = dot && m[0] == 'b' && dot == m + 1;
  if (dot && !aarch64_cond) *dot = '\0';
  const char *ops = disas + k;
  *regs = 0;
  bool multi = starts(m, "ldm") || starts(m, "stm") || starts(m, "push") || starts(m, "pop") || starts(m, "vpush") ||
               starts(m, "vpop") || starts(m, "vldm") || starts(m, "vstm");
  if (multi) {
    const char *open = strchr(ops, '{');
    if (open) {
      uint64_t n = 1;
      for (const char *c = open; *c && *c != '}'; c++) n += *c == ',';
      *regs = n - 1;
    }
  } else if (starts(m, "ldp") || starts(m, "stp")) {
    *regs = 1;
  }
  bool loads_pc = (starts(m, "pop") || starts(m, "ldm") || starts(m, "ldr")) && (strstr(ops, "pc}") || strstr(ops, " pc,") || strstr(ops, "{pc"));
  if (loads_pc) return C_BRANCH;
  if (starts(m, "ld") || starts(m, "pop") || starts(m, "vldr") || starts(m, "vldm") || starts(m, "vpop") || starts(m, "vld")) return C_LOAD;
  if (starts(m, "st") || starts(m, "push") || starts(m, "vstr") || starts(m, "vstm") || starts(m, "vpush") || starts(m, "vst")) return C_STORE;
  if (strcmp(m, "sdiv") == 0 || strcmp(m, "udiv") == 0 || starts(m, "vdiv") || starts(m, "fdiv") || starts(m, "vsqrt") || starts(m, "fsqrt")) return C_DIV;
  if (strstr(m, "mul") || starts(m, "mla") || starts(m, "mls") || starts(m, "smla") || starts(m, "smlal") || starts(m, "smuad") ||
      starts(m, "smusd") || starts(m, "smlsd") || starts(m, "smmla") || starts(m, "smmls") || starts(m, "umlal") || starts(m, "umaal") ||
      starts(m, "madd") || starts(m, "msub") || starts(m, "smaddl") || starts(m, "umaddl") || starts(m, "sdot") || starts(m, "udot") ||
      starts(m, "usada"))
    return m[0] == 'v' || m[0] == 'f' ? C_FP : C_MUL;
  if (aarch64_cond || strcmp(m, "bl") == 0 || strcmp(m, "blx") == 0 || strcmp(m, "bx") == 0 || strcmp(m, "br") == 0 ||
      strcmp(m, "blr") == 0 || strcmp(m, "ret") == 0 || starts(m, "cbz") || starts(m, "cbnz") || starts(m, "tbz") ||
      starts(m, "tbnz") || strcmp(m, "tbb") == 0 || strcmp(m, "tbh") == 0 || (m[0] == 'b' && is_condition(m + 1)))
    return C_BRANCH;
  if (m[0] == 'v' || (m[0] == 'f' && strcmp(m, "fmov") != 0)) return C_FP;
  return C_ALU;
}

static void on_begin(unsigned int vcpu, void *udata) {
  (void)vcpu; (void)udata;
  if (in_region) emit("warning nested tm2_count_begin: restarting the region\n");
  region_start = executed;
  memcpy(class_start, class_executed, sizeof class_start);
  if (func_executed) memcpy(func_start, func_executed, (n_funcs + 1) * sizeof *func_start);
  in_region = true;
}

/* udata: the struct block_tail of the end-marker block, from the marker on (already added inline). */
static void on_end(unsigned int vcpu, void *udata) {
  (void)vcpu;
  const struct block_tail *tail = udata;
  char line[320];
  if (!in_region) {
    emit("warning tm2_count_end without tm2_count_begin: ignored\n");
    return;
  }
  in_region = false;
  snprintf(line, sizeof line, "region %u %" PRIu64 "\n", regions_done, executed - region_start - tail->insns);
  emit(line);
  if (count_mix) {
    int at = snprintf(line, sizeof line, "mix %u", regions_done);
    for (int c = 0; c < N_CLASSES && at > 0 && (size_t)at < sizeof line; c++) {
      at += snprintf(line + at, sizeof line - at, " %s=%" PRIu64, class_names[c], class_executed[c] - class_start[c] - tail->classes[c]);
    }
    if (at > 0 && (size_t)at < sizeof line - 1) { line[at] = '\n'; line[at + 1] = '\0'; }
    emit(line);
  }
  if (func_executed) {
    for (size_t i = 0; i <= n_funcs; i++) func_in_regions[i] += func_executed[i] - func_start[i];
    func_in_regions[tail->func] -= tail->insns;
  }
  regions_done++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed, n);
  /* Per-instruction classes (mix=1), so a marker's block tail can be taken out class by class too. */
  uint8_t stack_class[64];
  uint8_t *cls = n <= sizeof stack_class ? stack_class : malloc(n);
  uint64_t stack_regs[64];
  uint64_t *regs = n <= 64 ? stack_regs : malloc(n * sizeof *regs);
  uint64_t block[N_CLASSES] = {0};
  for (size_t i = 0; count_mix && cls && regs && i < n; i++) {
    char *text = qemu_plugin_insn_disas(qemu_plugin_tb_get_insn(tb, i));
    cls[i] = (uint8_t)classify(text ? text : "", &regs[i]);
    free(text);
    block[cls[i]]++;
    block[C_REGS] += regs[i];
  }
  for (int c = 0; count_mix && c < N_CLASSES; c++)
    if (block[c]) qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &class_executed[c], block[c]);
  size_t func = n_funcs;
  if (func_executed && n > 0) {
    func = func_of(qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, 0)) & addr_mask);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &func_executed[func], n);
  }
  for (size_t i = 0; watch_stack && i < n; i++)
    qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), on_store, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_W, NULL);
  /* Markers are normally the first instruction of a block (they are call targets), but look at every
   * instruction so that a marker reached by falling through is still seen. */
  for (size_t i = 0; have_markers && i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    uint64_t pc = qemu_plugin_insn_vaddr(insn) & addr_mask;
    if (pc == begin_addr) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
    if (pc == end_addr) {
      /* One per translation of the end marker's block (a handful per run); never freed, as QEMU may keep
       * calling it until exit. */
      struct block_tail *tail = calloc(1, sizeof *tail);
      if (!tail) continue;
      tail->insns = n - i;
      tail->func = func;
      for (size_t j = i; count_mix && cls && regs && j < n; j++) {
        tail->classes[cls[j]]++;
        tail->classes[C_REGS] += regs[j];
      }
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, tail);
    }
  }
  if (cls != stack_class) free(cls);
  if (regs != stack_regs) free(regs);
}

static void on_exit_(qemu_plugin_id_t id, void *udata) {
  (void)id; (void)udata;
  char line[96];
  if (in_region) emit("warning program ended inside a counted region\n");
  for (size_t i = 0; func_in_regions && i <= n_funcs; i++) {
    if (!func_in_regions[i]) continue;
    if (i == n_funcs) snprintf(line, sizeof line, "func - %" PRIu64 "\n", func_in_regions[i]);
    else snprintf(line, sizeof line, "func %zu %" PRIu64 "\n", i, func_in_regions[i]);
    emit(line);
  }
  if (watch_stack && stack_low_seen != UINT64_MAX) {
    snprintf(line, sizeof line, "stack_low 0x%" PRIx64 "\n", stack_low_seen);
    emit(line);
  }
  snprintf(line, sizeof line, "total %" PRIu64 "\n", executed);
  emit(line);
  if (out_file) fclose(out_file);
  out_file = NULL;
}

static bool parse_addr(const char *text, uint64_t *value) {
  char *endp = NULL;
  *value = strtoull(text, &endp, 0);
  return endp != text && *endp == '\0';
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  bool have_begin = false, have_end = false;
  const char *funcs_file = NULL;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "begin=", 6) == 0) have_begin = parse_addr(arg + 6, &begin_addr);
    else if (strncmp(arg, "end=", 4) == 0) have_end = parse_addr(arg + 4, &end_addr);
    else if (strncmp(arg, "out=", 4) == 0) {
      out_file = fopen(arg + 4, "w");
      if (!out_file) { fprintf(stderr, "tm2_insn_count: cannot write %s\n", arg + 4); return -1; }
    } else if (strncmp(arg, "stack=", 6) == 0) {
      char *colon = NULL, *end = NULL;
      stack_lo = strtoull(arg + 6, &colon, 0);
      if (colon && *colon == ':') stack_hi = strtoull(colon + 1, &end, 0);
      watch_stack = colon && *colon == ':' && end && end != colon + 1 && *end == '\0' && stack_lo < stack_hi;
      if (!watch_stack) { fprintf(stderr, "tm2_insn_count: stack= needs addresses LO:HI (0x... with LO < HI)\n"); return -1; }
    } else if (strncmp(arg, "funcs=", 6) == 0) {
      funcs_file = arg + 6;
    } else if (strcmp(arg, "mix=1") == 0 || strcmp(arg, "mix=on") == 0) {
      count_mix = true;
    } else {
      fprintf(stderr, "tm2_insn_count: unknown argument '%s' (expected begin=, end=, out=, mix=1)\n", arg);
      return -1;
    }
  }
  if (have_begin != have_end) {
    fprintf(stderr, "tm2_insn_count: give both begin=0xADDR and end=0xADDR, or neither\n");
    return -1;
  }
  have_markers = have_begin && have_end;
  /* On 32-bit Arm a function symbol's bit 0 marks Thumb code; instruction addresses never have it. */
  if (info && info->target_name && strcmp(info->target_name, "arm") == 0) addr_mask = ~(uint64_t)1;
  begin_addr &= addr_mask;
  end_addr &= addr_mask;
  if (funcs_file && !load_funcs(funcs_file)) {
    fprintf(stderr, "tm2_insn_count: cannot read the function list %s\n", funcs_file);
    return -1;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_exit_, NULL);
  return 0;
}
