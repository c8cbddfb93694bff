/**
 * @file The list of CLI subcommands. Adding a command = adding its file and one line here.
 */
import type { Command } from 'commander';
import { register as registerRun } from './run.ts';
import { register as registerBench } from './bench.ts';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [registerRun, registerBench];
