package io.falconq.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help;
import picocli.CommandLine.IHelpSectionRenderer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The {@code falconq} command. {@link #run} parses, executes and returns the exit code (see {@link ExitCodes});
 * only {@link #main} calls {@code System.exit}.
 *
 * <p>To add a command: write a {@code Callable<Integer>} annotated with {@code @Command(name = ...)}, list its
 * class in {@link #SUBCOMMANDS} and its name in {@link #COMMAND_GROUPS}. Help options, the exit-code list and
 * error handling are applied to every subcommand here; add {@code @Mixin VerbosityMixin} (for {@code --verbose}
 * stack traces and progress), and {@code OutputOptions} / {@code ThreadsOption} where they apply.
 */
@Command(name = "falconq",
        mixinStandardHelpOptions = true,
        versionProvider = FalconqCli.Version.class,
        description = "Convert Hugging Face Falcon-H1 checkpoints to quantized GGUF and int8/int4 safetensors, "
                + "and measure their accuracy.")
public final class FalconqCli implements Callable<Integer> {

    /** Every subcommand, in the order of {@code falconq --help}. */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            InspectCommand.class,
            ConvertCommand.class,
            RequantizeCommand.class,
            CalibrateCommand.class,
            QuantizeCommand.class,
            PipelineCommand.class,
            ReportCommand.class,
            EvalCommand.class,
            MeasureCommand.class,
            GenerateCommand.class,
            SynthCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class);

    /** Sections of the command list in {@code falconq --help}; commands not listed appear under "Other". */
    static final Map<String, List<String>> COMMAND_GROUPS = groups(
            "Inspect", List.of("inspect"),
            "Convert and quantize", List.of("convert", "requantize", "calibrate", "quantize", "pipeline"),
            "Run and measure", List.of("eval", "measure", "generate", "synth", "report", "bench"));

    @Spec
    private CommandSpec spec;

    private final boolean attachedToConsole;

    /** A CLI whose output goes to the writers given to {@link #run}; progress is always plain lines. */
    public FalconqCli() {
        this(false);
    }

    private FalconqCli(boolean attachedToConsole) {
        this.attachedToConsole = attachedToConsole;
    }

    public static void main(String... args) {
        // Files and printed numbers must not depend on the user's locale (a decimal comma, Turkish's dotless i)
        Locale.setDefault(Locale.ROOT);
        FalconqCli cli = new FalconqCli(true);
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, System.out.charset()), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, System.err.charset()), true);
        System.exit(cli.run(out, err, args));
    }

    /** Runs one command line and returns its exit code; never exits the JVM. */
    public int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = commandLine(args);
        cli.setOut(out);
        cli.setErr(err);
        try {
            return cli.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** The configured picocli tree with every subcommand (error handling, exit codes in help, grouped command list). */
    public CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * The tree for one command line: when {@code args} starts with a subcommand's name, only that subcommand is
     * registered. picocli builds each subcommand's model by reflection when it is added, and with all of them every
     * command started about 0.15 s later (BENCHMARKS.md, issue #4); any other command line (options, help, an
     * unknown name) gets the full tree, so usage, suggestions and errors are unchanged.
     */
    public CommandLine commandLine(String... args) {
        CommandLine cli = new CommandLine(this);
        Class<?> only = args.length > 0 ? subcommandNamed(args[0]) : null;
        for (Class<?> sub : SUBCOMMANDS) {
            if (only == null || sub == only) {
                cli.addSubcommand(sub);
            }
        }
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        ErrorHandling.install(cli);
        cli.setExecutionStrategy(new io.falconq.cli.options.CommandInputs());
        configure(cli);
        cli.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, new GroupedCommandList());
        return cli;
    }

    /** True when started from {@link #main}, so stderr may be an interactive console. */
    public boolean attachedToConsole() {
        return attachedToConsole;
    }

    /** With no command: a usage error. */
    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "no command given");
    }

    private static Class<?> subcommandNamed(String name) {
        for (Class<?> sub : SUBCOMMANDS) {
            Command c = sub.getAnnotation(Command.class);
            if (c != null && (c.name().equals(name) || java.util.Arrays.asList(c.aliases()).contains(name))) {
                return sub;
            }
        }
        return null;
    }

    private static void configure(CommandLine cmd) {
        CommandSpec s = cmd.getCommandSpec();
        if (s.parent() == null) {
            s.usageMessage().commandListHeading("");
        } else if (java.util.stream.Stream.of("-h", "--help", "-V", "--version").noneMatch(s.optionsMap()::containsKey)) {
            s.mixinStandardHelpOptions(true);
            s.versionProvider(new Version());
        }
        s.usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(ExitCodes.helpList());
        for (CommandLine sub : cmd.getSubcommands().values()) {
            configure(sub);
        }
    }

    private static Map<String, List<String>> groups(Object... titleThenNames) {
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (int i = 0; i < titleThenNames.length; i += 2) {
            @SuppressWarnings("unchecked")
            List<String> names = (List<String>) titleThenNames[i + 1];
            groups.put((String) titleThenNames[i], names);
        }
        return groups;
    }

    /** Renders the command list in the sections of {@link #COMMAND_GROUPS}, as jbang's CommandGroupRenderer does. */
    private static final class GroupedCommandList implements IHelpSectionRenderer {
        @Override
        public String render(Help help) {
            Map<String, Help> all = help.subcommands();
            if (all.isEmpty()) {
                return "";
            }
            StringBuilder sb = new StringBuilder();
            List<String> listed = new ArrayList<>();
            for (Map.Entry<String, List<String>> group : COMMAND_GROUPS.entrySet()) {
                Map<String, Help> members = new LinkedHashMap<>();
                for (String name : group.getValue()) {
                    if (all.containsKey(name)) {
                        members.put(name, all.get(name));
                        listed.add(name);
                    }
                }
                appendSection(sb, help, group.getKey(), members);
            }
            Map<String, Help> other = new LinkedHashMap<>(all);
            other.keySet().removeAll(listed);
            appendSection(sb, help, "Other", other);
            sb.append(String.format("%nRun 'falconq COMMAND --help' for a command's options.%n"));
            return sb.toString();
        }

        private static void appendSection(StringBuilder sb, Help help, String title, Map<String, Help> members) {
            if (!members.isEmpty()) {
                sb.append(String.format("%n%s commands:%n", title));
                sb.append(help.commandList(members));
            }
        }
    }

    /** {@code --version}: the jar manifest's Implementation-Version ("dev" when run from classes). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = FalconqCli.class.getPackage().getImplementationVersion();
            return new String[]{"falconq " + (v == null ? "dev" : v),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
