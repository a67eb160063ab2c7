package io.falconq.cli.options;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a path option or parameter a command writes to (or writes inside), so {@link CommandInputs} does not count
 * it among the inputs that outputs must stay clear of. Every other path argument is an input.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.FIELD, ElementType.METHOD})
public @interface OutputPath {
}
