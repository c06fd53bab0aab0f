// The list of what each toolchain and runner needs, by the file that is needed (a header the compiler must
// find, a library the linker must find, a program on PATH), each with the Debian package that provides it.
//
// Why by file: Debian's cross compilers install without their C library (`gcc-aarch64-linux-gnu` only
// Recommends `libc6-dev-arm64-cross`; `gcc-arm-none-eabi` works without newlib until a program includes
// <stdio.h>), so "the command exists" says nothing about whether a board's program builds.
//
// This is the one list: `tinym2 doctor` reports it, buildFirmware checks it before building
// (compiler/target/toolchain.ts), requireTool takes its package names from it, and test/install-deps.sh installs
// exactly the packages it names as missing (test/missing-packages.ts).
import type { Board } from './boards.ts';

/** One thing a build or run needs, and the Debian package that provides it. */
export type Requirement =
  /** A program on PATH. */
  | { kind: 'command'; name: string; package: string; why: string }
  /** A header the compiler must resolve with the board's flags (`cc <cflags> -E` of `#include <name>`). */
  | { kind: 'header'; name: string; package: string; why: string }
  /** A library or specs file the compiler driver must find with the board's flags (`cc <cflags> -print-file-name=name`). */
  | { kind: 'library'; name: string; package: string; why: string }
  /** A file at a fixed path (test-only tools such as a Python module). */
  | { kind: 'file'; name: string; package: string; why: string };

export type ToolchainKind = Board['toolchain']['kind'] | 'host';
export type RunnerKind = Exclude<Board['run']['kind'], 'none'>;

/** The C headers generated code, runtime-c, the test-vector harness and the start-up code include. */
const C_HEADERS = ['stdint.h', 'stddef.h', 'string.h', 'stdio.h', 'stdlib.h', 'inttypes.h', 'limits.h'];

/**
 * Per toolchain: what building a board's program needs. The compiler itself comes first; headers and
 * libraries are probed with that compiler. `satisfies` makes tsc name a toolchain kind the boards use but
 * this table lacks.
 */
export const TOOLCHAIN_REQUIREMENTS = {
  'arm-none-eabi': [
    { kind: 'command', name: 'arm-none-eabi-gcc', package: 'gcc-arm-none-eabi', why: 'the bare-metal Cortex-M C compiler' },
    ...C_HEADERS.map((h) => ({ kind: 'header' as const, name: h, package: 'libnewlib-arm-none-eabi', why: 'newlib C headers' })),
    { kind: 'library', name: 'libc.a', package: 'libnewlib-arm-none-eabi', why: 'newlib C library' },
    { kind: 'library', name: 'librdimon.a', package: 'libnewlib-arm-none-eabi', why: 'semihosting (printf and exit under QEMU)' },
    { kind: 'library', name: 'rdimon.specs', package: 'libnewlib-arm-none-eabi', why: 'semihosting link specs' },
  ],
  'aarch64-linux-gnu': [
    { kind: 'command', name: 'aarch64-linux-gnu-gcc', package: 'gcc-aarch64-linux-gnu', why: 'the aarch64 Linux C compiler (Raspberry Pi 4)' },
    ...C_HEADERS.map((h) => ({ kind: 'header' as const, name: h, package: 'libc6-dev-arm64-cross', why: 'aarch64 glibc headers' })),
    { kind: 'library', name: 'libc.a', package: 'libc6-dev-arm64-cross', why: 'aarch64 glibc for -static links' },
    { kind: 'library', name: 'libm.a', package: 'libc6-dev-arm64-cross', why: 'aarch64 libm for -static links' },
  ],
  // The host compiler builds the QEMU instruction-count plugin and `compile --check`'s self-check program.
  host: [
    { kind: 'command', name: 'gcc', package: 'gcc', why: 'the host C compiler (QEMU plugin, compile --check)' },
    ...C_HEADERS.map((h) => ({ kind: 'header' as const, name: h, package: 'libc6-dev', why: 'host glibc headers' })),
  ],
} satisfies Record<ToolchainKind, Requirement[]>;

/** Per run kind: the emulator that runs a board's program. */
export const RUNNER_REQUIREMENTS = {
  'qemu-system-arm': [{ kind: 'command', name: 'qemu-system-arm', package: 'qemu-system-arm', why: 'runs Cortex-M firmware (mps2 machines)' }],
  'qemu-aarch64': [{ kind: 'command', name: 'qemu-aarch64', package: 'qemu-user', why: 'runs aarch64 Linux programs (Raspberry Pi 4 stand-in)' }],
} satisfies Record<RunnerKind, Requirement[]>;

/**
 * What the test suite needs beyond the boards' toolchains and runners: gcc's sanitizer runtimes (the
 * AddressSanitizer/UBSan builds of runtime-c and generated models; gcc's libgcc-12-dev Depends on them, and
 * clang's own runtime is not used), a second host compiler, CMake, headless Chromium (HTML reports), Debian's Python with numpy for the .npz
 * interoperability tests, and Debian's onnx package, which generates ONNX's own node tests. Not needed to use tinym2. Libraries here are probed with the host gcc.
 */
export const TEST_REQUIREMENTS: Requirement[] = [
  { kind: 'library', name: 'libasan.so', package: 'libgcc-12-dev', why: 'AddressSanitizer builds in the tests (gcc -fsanitize=address)' },
  { kind: 'library', name: 'libubsan.so', package: 'libgcc-12-dev', why: 'UBSan builds in the tests (gcc -fsanitize=undefined)' },
  { kind: 'command', name: 'clang', package: 'clang', why: 'second host compiler and clang --target=thumbv7em builds in the tests' },
  { kind: 'command', name: 'cmake', package: 'cmake', why: 'generated CMakeLists.txt builds in the tests' },
  { kind: 'command', name: 'chromium', package: 'chromium', why: 'the HTML report tests open reports in headless Chromium' },
  { kind: 'file', name: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', package: 'fonts-dejavu-core', why: 'a font for the text of reports in headless Chromium (a Recommends, so not installed with it)' },
  { kind: 'command', name: '/usr/bin/python3', package: 'python3', why: 'numpy interoperability tests' },
  { kind: 'file', name: '/usr/lib/python3/dist-packages/numpy/__init__.py', package: 'python3-numpy', why: 'numpy interoperability tests (.npz)' },
  { kind: 'file', name: '/usr/lib/python3/dist-packages/onnx/backend/test/cmd_tools.py', package: 'python3-onnx', why: "ONNX's backend node tests (test/onnx-conformance.test.ts, docs/operators.md) are generated by it" },
];

/** Debian package of each program named above, plus the ones only `--ssh` needs. */
export const COMMAND_PACKAGES: Readonly<Record<string, string>> = Object.fromEntries([
  ...[...Object.values(TOOLCHAIN_REQUIREMENTS), ...Object.values(RUNNER_REQUIREMENTS), TEST_REQUIREMENTS]
    .flat()
    .filter((r) => r.kind === 'command')
    .map((r) => [r.name, r.package]),
  ['ssh', 'openssh-client'],
  ['scp', 'openssh-client'],
]);
