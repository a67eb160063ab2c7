package io.falconq.formats.io;

import java.io.IOException;
import java.nio.file.NoSuchFileException;

/** The user's input is unusable: malformed or truncated file, wrong model type, missing tensor, NaN weights. Exit code 3. */
public class InvalidInputException extends FalconqException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }

    /** An input that could not be read: "INPUT: no such file", or "INPUT: cannot read: REASON". */
    public static InvalidInputException unreadable(Object input, IOException e) {
        return e instanceof NoSuchFileException ? new InvalidInputException(input + ": no such file")
                : new InvalidInputException(input + ": cannot read: " + e.getMessage(), e);
    }
}
