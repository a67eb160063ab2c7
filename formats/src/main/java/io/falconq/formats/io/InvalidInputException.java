package io.falconq.formats.io;

/** The user's input is unusable: malformed or truncated file, wrong model type, missing tensor, NaN weights. Exit code 3. */
public class InvalidInputException extends FalconqException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
