// The DynaFuse fusion config (fusion.json beside a model): loaded, checked against fusion.schema.json
// with ajv, then cross-checked against the graph (inputs, head outputs, channel counts) and for what a
// schema cannot say (sigma grid order, the sensing energy's derivation). A bad file is one TinyM2Error
// naming the file and the field.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAgainstSchema } from '../json-schema.ts';
import { EXIT_BAD_INPUT, TinyM2Error } from '../errors.ts';
import type { Graph } from '../ir.ts';
import { ALL_SELECTED_RULES, MODES, type AllSelectedRule, type ModeName } from './runtime.ts';

export interface SensorSpec {
  part: string;
  samplingRateHz: number;
  channels: number;
  energyPerSampleJ: number;
  derivation?: { supplyCurrentA: number; supplyVoltageV: number; note?: string };
  source: { title: string; url?: string; section?: string };
}

export interface ModalityConfig {
  name: string;
  input: string;
  head: string;
  sensor: SensorSpec;
}

export interface FusionConfig {
  modalities: ModalityConfig[];
  fusedHead?: string;
  threshold: number;
  noiseSigmas: number[];
  modes: { default: ModeName; batteryEnergySavingBelow: number; batteryNominalBelow: number };
  /** When every modality is selected: fuse all heads with the run-time weights (the paper) or use the fused head. */
  allSelected: AllSelectedRule;
  /** The file it came from (not in the JSON). */
  file: string;
}

/** The paper's rule (k = N with dynamic weights); 'fused-head' is tinym2's earlier rule, kept selectable. */
export const DEFAULT_ALL_SELECTED: AllSelectedRule = 'dynamic-weights';
export const DEFAULT_SIGMAS = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
export const SCHEMA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fusion.schema.json');

/** Reads and checks a fusion config; `graph`, when given, is checked to have every input and head. */
export function loadFusionConfig(file: string, graph?: Graph): FusionConfig {
  if (!fs.existsSync(file)) throw new TinyM2Error(`fusion config ${file} does not exist`, { exitCode: EXIT_BAD_INPUT, details: { file } });
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TinyM2Error(`fusion config ${file} is not valid JSON: ${(err as Error).message}`, { exitCode: EXIT_BAD_INPUT, details: { file } });
  }
  return checkFusionConfig(data, file, graph);
}

export function checkFusionConfig(data: unknown, file: string, graph?: Graph): FusionConfig {
  checkAgainstSchema(data, SCHEMA_FILE, `fusion config ${file}`, file);
  const raw = data as Omit<FusionConfig, 'file' | 'threshold' | 'noiseSigmas' | 'modes' | 'allSelected'> & Partial<FusionConfig>;
  const fail = (field: string, what: string): never => {
    throw new TinyM2Error(`fusion config ${file} is invalid: ${field} ${what}`, { exitCode: EXIT_BAD_INPUT, details: { file, field } });
  };
  const config: FusionConfig = {
    modalities: raw.modalities,
    fusedHead: raw.fusedHead,
    threshold: raw.threshold ?? 0.8,
    noiseSigmas: raw.noiseSigmas ?? DEFAULT_SIGMAS,
    modes: {
      default: raw.modes?.default ?? 'nominal',
      batteryEnergySavingBelow: raw.modes?.batteryEnergySavingBelow ?? 20,
      batteryNominalBelow: raw.modes?.batteryNominalBelow ?? 50,
    },
    allSelected: raw.allSelected ?? DEFAULT_ALL_SELECTED,
    file,
  };
  if (!ALL_SELECTED_RULES.includes(config.allSelected)) fail('/allSelected', `must be one of ${ALL_SELECTED_RULES.join(', ')}`);
  if (!MODES.includes(config.modes.default)) fail('/modes/default', `must be one of ${MODES.join(', ')}`);
  if (config.modes.batteryNominalBelow < config.modes.batteryEnergySavingBelow)
    fail('/modes/batteryNominalBelow', `(${config.modes.batteryNominalBelow}) is below batteryEnergySavingBelow (${config.modes.batteryEnergySavingBelow})`);
  const s = config.noiseSigmas;
  if (s[0] !== 0) fail('/noiseSigmas/0', 'must be 0 (the noise-free accuracy is the first knot)');
  for (let i = 1; i < s.length; i++) if (!(s[i] > s[i - 1])) fail(`/noiseSigmas/${i}`, `(${s[i]}) must be larger than the previous value (${s[i - 1]})`);

  const seen = new Set<string>();
  config.modalities.forEach((m, i) => {
    const at = `/modalities/${i}`;
    if (seen.has(m.name)) fail(`${at}/name`, `'${m.name}' is used twice`);
    seen.add(m.name);
    const d = m.sensor.derivation;
    if (d) {
      const derived = (d.supplyCurrentA * d.supplyVoltageV) / m.sensor.samplingRateHz;
      if (Math.abs(derived - m.sensor.energyPerSampleJ) > 0.01 * derived)
        fail(`${at}/sensor/energyPerSampleJ`, `is ${m.sensor.energyPerSampleJ} J but the derivation gives ${d.supplyCurrentA} A x ${d.supplyVoltageV} V / ${m.sensor.samplingRateHz} Hz = ${derived.toPrecision(4)} J`);
    }
    if (graph) {
      const input = graph.inputs.find((x) => x.name === m.input);
      if (!input) fail(`${at}/input`, `'${m.input}' is not an input of ${graph.file} (inputs: ${graph.inputs.map((x) => x.name).join(', ')})`);
      if (!graph.outputs.some((x) => x.name === m.head)) fail(`${at}/head`, `'${m.head}' is not an output of ${graph.file} (outputs: ${graph.outputs.map((x) => x.name).join(', ')})`);
      const channels = input!.shape.length >= 3 ? input!.shape[1] : 1;
      if (channels !== m.sensor.channels) fail(`${at}/sensor/channels`, `is ${m.sensor.channels} but input '${m.input}' has ${channels} channels (shape [${input!.shape}])`);
    }
  });
  if (graph && config.fusedHead !== undefined && !graph.outputs.some((x) => x.name === config.fusedHead))
    fail('/fusedHead', `'${config.fusedHead}' is not an output of ${graph.file} (outputs: ${graph.outputs.map((x) => x.name).join(', ')})`);
  return config;
}
