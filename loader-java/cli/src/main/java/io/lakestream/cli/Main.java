package io.lakestream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code lakestream} command line. Exit codes: 0 ok, 1 error, 2 usage (including an invalid
 * stream URI), 3 fenced, 4 timed out, 5 commit outcome unknown (re-run: the producer resumes from
 * what the log says was committed), 6 stream closed (see {@code lakestream close}), 7 not found
 * ({@code find}: the record is in no committed step yet), 8 never found ({@code find}: and none
 * will deliver it, e.g. the stream is closed).
 */
// scope INHERIT: every command answers --help (and --version), not just the top level
@Command(name = "lakestream", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "lakestream 0.1.0",
        description = "Brokerless, object-store-native training data plane.",
        footer = {"", "Exit codes (every command, by the error's type): 0 (ok), 1 (error), 2 (usage: bad arguments or an invalid",
                "stream URI; nothing was committed), 3 (fenced: a newer instance took over), 4 (timed out), 5 (commit unknown:",
                "run the producer again, it resumes from what the log says was committed), 6 (closed: see 'close'),",
                "7 (not found: 'find', a producer may still deliver it), 8 (never: 'find', and none ever will)."},
        subcommands = {ProduceCommand.class, ConsumeCommand.class, InspectCommand.class, CheckpointCommand.class, GcCommand.class,
                CloseCommand.class, DemoCommand.class, NativeCommand.class, DoctorCommand.class, BlameCommand.class,
                FindCommand.class, ControlCommand.class, SimulateCommand.class, TopCommand.class})
public final class Main {
    /** Each exit code's name, as help texts and docs/cli.md write it: "exit N (name)". */
    public static final java.util.Map<Integer, String> EXIT_NAMES = java.util.Map.of(0, "ok", 1, "error", 2, "usage", 3, "fenced",
            4, "timed out", 5, "commit unknown", 6, "closed", 7, "not found", 8, "never");
    public static final int EXIT_ERROR = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_FENCED = 3;
    public static final int EXIT_TIMEOUT = 4;
    public static final int EXIT_COMMIT_UNKNOWN = 5;
    /** A producer was refused because the stream is closed (see {@code lakestream close}). */
    public static final int EXIT_CLOSED = 6;
    /** {@code find}: the record is in no committed step yet, and a producer may still deliver it. */
    public static final int EXIT_NOT_FOUND = 7;
    /** {@code find}: the record is in no committed step and never will be (the stream is closed, or every cursor passed it). */
    public static final int EXIT_NEVER = 8;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("lakestream " + cmd.getCommandName() + ": error: " + Errors.describe(ex));
            if (Boolean.getBoolean("lakestream.debug")) {
                ex.printStackTrace(cmd.getErr());
            }
            return Errors.exitCode(ex);
        });
        return cl.execute(args);
    }
}
