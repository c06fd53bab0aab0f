/*
 * Instruction-count markers. Firmware brackets the code to measure (one inference) with
 *   tm2_count_begin();  tm2_model_run(...);  tm2_count_end();
 * Under QEMU, the tm2_insn_count plugin (boards/qemu-plugin) counts the instructions executed between the
 * two calls, one count per pair, in call order: everything after tm2_count_begin() returns, up to and
 * including the instruction that calls tm2_count_end() (so an empty region counts 1). Elsewhere the
 * markers cost a call and a return.
 */
#ifndef TM2_COUNT_H
#define TM2_COUNT_H
#ifdef __cplusplus
extern "C" {
#endif
void tm2_count_begin(void);
void tm2_count_end(void);
#ifdef __cplusplus
}
#endif
#endif
