/**
 * @file The list of CLI subcommands. Adding a command = adding its file and one line here.
 */
import type { Command } from 'commander';
import { register as registerRun } from './run.ts';
import { register as registerEval } from './eval.ts';
import { register as registerReport } from './report.ts';
import { register as registerLs } from './ls.ts';
import { register as registerBench } from './bench.ts';
import { register as registerModels } from './models.ts';
import { register as registerData } from './data.ts';
import { register as registerFid } from './fid.ts';
import { register as registerDashboard } from './dashboard.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerMerge } from './merge.ts';
import { register as registerReproduce } from './reproduce.ts';
import { register as registerThumbs } from './thumbs.ts';
import { register as registerExport } from './export.ts';
import { register as registerTrain } from './train.ts';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [registerRun, registerEval, registerReport, registerLs, registerBench, registerModels, registerData, registerFid, registerDashboard, registerDemo, registerMerge, registerReproduce, registerThumbs, registerExport, registerTrain];
