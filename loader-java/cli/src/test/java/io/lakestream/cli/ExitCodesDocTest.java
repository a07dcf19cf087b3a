package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The exit codes a user reads agree everywhere: docs/cli.md's table, {@code lakestream --help},
 * {@link Main}'s constants, and every "exit N (name)" in a command's help or in docs/cli.md.
 */
class ExitCodesDocTest {
    /** From the module directory (Surefire's working directory) to the repository's docs. */
    static final Path CLI_MD = Path.of("../../docs/cli.md");
    static final Pattern MENTION = Pattern.compile("(?i)\\bexit(?:s|ed)? (\\d)\\b(?! \\()|\\bexit(?:s|ed)? (\\d) \\(([^)]*)\\)");

    @Test
    void theDocsTableTheHelpAndTheConstantsAgree() throws Exception {
        String md = Files.readString(CLI_MD);
        Map<Integer, String> table = new TreeMap<>();
        Matcher row = Pattern.compile("(?m)^\\| (\\d) \\| ([^|]+?) \\|").matcher(md.substring(md.indexOf("## Exit codes")));
        while (row.find()) {
            table.put(Integer.parseInt(row.group(1)), row.group(2));
        }
        assertEquals(new TreeMap<>(Main.EXIT_NAMES), table, "docs/cli.md's exit code table");
        assertEquals(Main.EXIT_USAGE, codeOf(table, "usage"));
        assertEquals(Main.EXIT_FENCED, codeOf(table, "fenced"));
        assertEquals(Main.EXIT_TIMEOUT, codeOf(table, "timed out"));
        assertEquals(Main.EXIT_COMMIT_UNKNOWN, codeOf(table, "commit unknown"));
        assertEquals(Main.EXIT_CLOSED, codeOf(table, "closed"));
        assertEquals(Main.EXIT_NOT_FOUND, codeOf(table, "not found"));
        assertEquals(Main.EXIT_NEVER, codeOf(table, "never"));

        String help = flat(Cli.run("--help").out());
        String codes = help.substring(help.indexOf("Exit codes"));
        Map<Integer, String> listed = new TreeMap<>();
        Matcher m = Pattern.compile("\\b(\\d) \\(([a-z ]+)[:)]").matcher(codes);
        while (m.find()) {
            listed.put(Integer.parseInt(m.group(1)), m.group(2));
        }
        assertEquals(table, listed, "lakestream --help's exit codes");
    }

    @Test
    void everyExitMentionNamesItsCode() throws Exception {
        List<String> bad = new ArrayList<>();
        check("docs/cli.md", flat(Files.readString(CLI_MD)), bad);
        for (String cmd : new CommandLine(new Main()).getSubcommands().keySet()) {
            Cli.Result r = Cli.run(cmd, "--help"); // every command answers --help, required options or not
            assertEquals(0, r.exit(), cmd + " --help: " + r.err());
            check(cmd + " --help", flat(r.out()), bad);
        }
        assertTrue(bad.isEmpty(), "write exit codes as 'exit N (name)' with the table's name:\n" + String.join("\n", bad));
    }

    private static void check(String where, String text, List<String> bad) {
        Matcher m = MENTION.matcher(text);
        while (m.find()) {
            if (m.group(1) != null) {
                bad.add(where + ": '" + m.group() + "' has no (name)");
            } else if (!Main.EXIT_NAMES.get(Integer.parseInt(m.group(2))).equals(m.group(3))) {
                bad.add(where + ": '" + m.group() + "', but exit " + m.group(2) + " is '" + Main.EXIT_NAMES.get(Integer.parseInt(m.group(2)))
                        + "'");
            }
        }
    }

    private static int codeOf(Map<Integer, String> table, String name) {
        return table.entrySet().stream().filter(e -> e.getValue().equals(name)).findFirst().orElseThrow().getKey();
    }

    /** Help text is wrapped at the terminal width: compare it as one line. */
    private static String flat(String s) {
        return s.replaceAll("\\s+", " ");
    }
}
