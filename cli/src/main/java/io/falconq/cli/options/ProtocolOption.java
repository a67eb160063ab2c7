package io.falconq.cli.options;

import io.falconq.runtime.eval.EvalProtocol;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code --protocol falconq|llama.cpp} of {@code eval} and {@code pipeline}; add with {@code @Mixin ProtocolOption}. */
public final class ProtocolOption {
    @Option(names = "--protocol", paramLabel = "falconq|llama.cpp", defaultValue = "falconq",
            converter = Parser.class, description = "Windowing and scoring protocol (SPEC §4; default ${DEFAULT-VALUE}).")
    private EvalProtocol protocol;

    public EvalProtocol protocol() {
        return protocol;
    }

    /** {@link EvalProtocol#parse}; an unknown name is a usage error (exit 2). */
    public static final class Parser implements CommandLine.ITypeConverter<EvalProtocol> {
        @Override
        public EvalProtocol convert(String value) {
            try {
                return EvalProtocol.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
