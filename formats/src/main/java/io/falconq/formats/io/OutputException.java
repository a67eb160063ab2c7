package io.falconq.formats.io;

/** An output cannot be written: it exists and --force was not given, the disk is full, a rename failed. Exit code 4. */
public class OutputException extends FalconqException {
    public OutputException(String message) {
        super(message);
    }

    public OutputException(String message, Throwable cause) {
        super(message, cause);
    }
}
