package io.falconq.formats.io;

/**
 * Root of every failure falconq reports to a user. The CLI maps each subclass to one exit code
 * (see {@code io.falconq.cli.ExitCodes}); the message is a single line meant to be printed as is.
 */
public abstract class FalconqException extends RuntimeException {
    protected FalconqException(String message) {
        super(message);
    }

    protected FalconqException(String message, Throwable cause) {
        super(message, cause);
    }
}
