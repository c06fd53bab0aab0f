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
 * Output lines: `region <index> <instructions>` at each end marker, then `total <instructions>` at exit.
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
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* ---- State. One vCPU on every target tinym2 runs (Cortex-M, single-threaded user-mode program). ---- */
static uint64_t executed;       /* instructions of all executed blocks, bumped inline per block */
static uint64_t region_start;   /* `executed` when the begin marker ran */
static bool in_region;
static unsigned regions_done;
static uint64_t begin_addr, end_addr, addr_mask = ~(uint64_t)0;
static bool have_markers;
static FILE *out_file;

static void emit(const char *line) {
  if (out_file) {
    fputs(line, out_file);
    fflush(out_file); /* a later crash or timeout must not lose the counts already taken */
  } else {
    qemu_plugin_outs(line);
  }
}

static void on_begin(unsigned int vcpu, void *udata) {
  (void)vcpu; (void)udata;
  if (in_region) emit("warning nested tm2_count_begin: restarting the region\n");
  region_start = executed;
  in_region = true;
}

/* udata: how many instructions of the end-marker block, from the marker on, were already added. */
static void on_end(unsigned int vcpu, void *udata) {
  (void)vcpu;
  uint64_t marker_block_tail = (uint64_t)(uintptr_t)udata;
  char line[96];
  if (!in_region) {
    emit("warning tm2_count_end without tm2_count_begin: ignored\n");
    return;
  }
  in_region = false;
  snprintf(line, sizeof line, "region %u %" PRIu64 "\n", regions_done++, executed - region_start - marker_block_tail);
  emit(line);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed, n);
  /* Markers are normally the first instruction of a block (they are call targets), but look at every
   * instruction so that a marker reached by falling through is still seen. */
  for (size_t i = 0; have_markers && i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    uint64_t pc = qemu_plugin_insn_vaddr(insn) & addr_mask;
    if (pc == begin_addr) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
    if (pc == end_addr)
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)(n - i));
  }
}

static void on_exit_(qemu_plugin_id_t id, void *udata) {
  (void)id; (void)udata;
  char line[96];
  if (in_region) emit("warning program ended inside a counted region\n");
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
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "begin=", 6) == 0) have_begin = parse_addr(arg + 6, &begin_addr);
    else if (strncmp(arg, "end=", 4) == 0) have_end = parse_addr(arg + 4, &end_addr);
    else if (strncmp(arg, "out=", 4) == 0) {
      out_file = fopen(arg + 4, "w");
      if (!out_file) { fprintf(stderr, "tm2_insn_count: cannot write %s\n", arg + 4); return -1; }
    } else {
      fprintf(stderr, "tm2_insn_count: unknown argument '%s' (expected begin=, end=, out=)\n", arg);
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
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_exit_, NULL);
  return 0;
}
