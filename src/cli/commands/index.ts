/**
 * @file The list of CLI subcommands. Adding a command = adding its file and one line here.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [];
