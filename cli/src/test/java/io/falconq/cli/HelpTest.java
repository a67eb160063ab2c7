package io.falconq.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Map;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HelpTest {
    @Command(name = "fake", description = "A stand-in command.")
    static final class FakeCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            return 0;
        }
    }

    @Test
    void everyCommandsHelpListsTheExitCodes() {
        CommandLine root = new FalconqCli().commandLine();
        checkExitCodes(root);
    }

    private static void checkExitCodes(CommandLine cmd) {
        String usage = cmd.getUsageMessage(CommandLine.Help.Ansi.OFF);
        assertTrue(usage.contains("Exit codes:"), cmd.getCommandName() + " help lacks exit codes:\n" + usage);
        for (Map.Entry<String, String> e : ExitCodes.helpList().entrySet()) {
            assertTrue(usage.contains(e.getKey().strip() + "   " + e.getValue().substring(0, Math.min(20, e.getValue().length()))),
                    cmd.getCommandName() + " help lacks exit code " + e.getKey() + ":\n" + usage);
        }
        for (CommandLine sub : cmd.getSubcommands().values()) {
            checkExitCodes(sub);
        }
    }

    @Test
    void rootHelpGroupsCommandsAndGoesToStdout() {
        CliHarness r = CliHarness.run("--help");
        assertEquals(0, r.exitCode());
        assertTrue(r.out().contains("Inspect commands:"), r.out());
        assertTrue(r.out().contains("  inspect "), r.out());
        assertTrue(r.out().contains("Other commands:"), r.out());
        assertTrue(r.out().indexOf("Inspect commands:") < r.out().indexOf("Other commands:"), r.out());
        assertEquals("", r.err());
    }

    @Test
    void everyCommandIsListedInItsGroupAndUnlistedOnesUnderOther() {
        CommandLine cli = new FalconqCli().commandLine();
        cli.addSubcommand("zz-unlisted", new FakeCommand());
        String usage = cli.getUsageMessage(CommandLine.Help.Ansi.OFF);
        for (String name : cli.getSubcommands().keySet()) {
            String group = FalconqCli.COMMAND_GROUPS.entrySet().stream()
                    .filter(e -> e.getValue().contains(name)).map(Map.Entry::getKey).findFirst().orElse("Other");
            int heading = usage.indexOf(group + " commands:");
            int next = usage.indexOf(" commands:", heading + group.length() + 10);
            String section = usage.substring(heading, next < 0 ? usage.length() : next);
            assertTrue(heading >= 0 && section.contains("\n  " + name + " "), name + " under " + group + ":\n" + usage);
        }
    }

    @Test
    void subcommandsGetHelpAndVersionOptions() {
        CliHarness help = CliHarness.run("inspect", "--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().startsWith("Usage: falconq inspect"), help.out());
        assertTrue(help.out().contains("Exit codes:"), help.out());
        CliHarness version = CliHarness.run("--version");
        assertEquals(0, version.exitCode());
        assertTrue(version.out().startsWith("falconq "), version.out());
        assertTrue(version.out().contains("Java " + Runtime.version().feature()), version.out());
    }
}
