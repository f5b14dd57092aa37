package dev.pml4.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.TypeConversionException;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Where the value of an option declared with picocli's programmatic API goes: a field of the
 * command, read and written by two lambdas. An annotated command costs picocli reflection that a
 * cold JVM pays dearly for: every annotation is read through a dynamic proxy class spun at run
 * time, and every field is set through reflective access (method-handle classes spun since JDK
 * 18). Neither can come from the AOT cache; lambdas can. {@code pml4 run} declares its options
 * this way (README, "Start-up").
 *
 * <p>picocli's {@link ISetter} and {@link IGetter} have generic methods, which a lambda cannot
 * implement: hence this class around a {@link Supplier} and a {@link Consumer}.
 */
final class OptionBinding<V> implements IGetter, ISetter {
    private final Supplier<V> getter;
    private final Consumer<V> setter;

    private OptionBinding(Supplier<V> getter, Consumer<V> setter) {
        this.getter = getter;
        this.setter = setter;
    }

    /**
     * The option {@code name} of {@code type}, kept by {@code get} and {@code set}. Its initial
     * value is the field's value now, as picocli takes an annotated field's: picocli sets it back
     * before every parse, and a primitive field must never be given null.
     */
    static <V> OptionSpec.Builder option(String name, Class<V> type, Supplier<V> get, Consumer<V> set) {
        OptionBinding<V> binding = new OptionBinding<>(get, set);
        return OptionSpec.builder(name).type(type).getter(binding).setter(binding).initialValue(get.get())
                .converters(converter(type));
    }

    /** A repeatable option whose values (split as the builder says) collect in a list of strings. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    static OptionSpec.Builder strings(String name, Supplier<List<String>> get, Consumer<List<String>> set) {
        return option(name, (Class) List.class, get, set).auxiliaryTypes(String.class);
    }

    /** A positional parameter of {@code type}, kept by {@code get} and {@code set}, initially as {@link #option}. */
    static <V> PositionalParamSpec.Builder positional(Class<V> type, Supplier<V> get, Consumer<V> set) {
        OptionBinding<V> binding = new OptionBinding<>(get, set);
        return PositionalParamSpec.builder().type(type).getter(binding).setter(binding).initialValue(get.get())
                .converters(converter(type));
    }

    /**
     * picocli's own converter for {@code type}, but for a {@link Path}: picocli calls
     * {@code Paths.get} through reflection, whose first call spins method-handle classes (~2 ms
     * of a cold run, for IMAGE); this calls it directly and fails with picocli's message.
     */
    private static ITypeConverter<?>[] converter(Class<?> type) {
        if (type != Path.class) {
            return new ITypeConverter<?>[0];
        }
        return new ITypeConverter<?>[]{value -> {
            try {
                return Path.of(value);
            } catch (InvalidPathException e) {
                throw new TypeConversionException(String.format("cannot convert '%s' to %s (%s)", value, Path.class, e));
            }
        }};
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T get() {
        return (T) getter.get();
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T set(T value) {
        T old = get();
        setter.accept((V) value);
        return old;
    }
}
