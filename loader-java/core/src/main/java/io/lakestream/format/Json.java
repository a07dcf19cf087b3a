package io.lakestream.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;

/**
 * The one JSON mapper of the on-store format: snake_case names, sorted keys (so that two
 * writers serialising the same state produce the same bytes), unknown fields tolerated (so that
 * newer writers can add fields old readers skip).
 */
public final class Json {
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY, true)
            .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
            .configure(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES, false)
            .build();

    private Json() {}

    /**
     * A string that must be a JSON string: Jackson would otherwise turn a number or boolean into
     * its text (docs/format.md §4.1: control settings are strings). Null is refused too.
     */
    public static final class StrictString extends com.fasterxml.jackson.databind.JsonDeserializer<String> {
        @Override
        public String deserialize(com.fasterxml.jackson.core.JsonParser p, com.fasterxml.jackson.databind.DeserializationContext ctxt)
                throws IOException {
            if (p.currentToken() != com.fasterxml.jackson.core.JsonToken.VALUE_STRING) {
                throw com.fasterxml.jackson.databind.exc.MismatchedInputException.from(p, String.class,
                        "expected a JSON string, got " + p.currentToken());
            }
            return p.getText();
        }

        @Override
        public String getNullValue(com.fasterxml.jackson.databind.DeserializationContext ctxt)
                throws com.fasterxml.jackson.databind.JsonMappingException {
            throw com.fasterxml.jackson.databind.exc.MismatchedInputException.from(ctxt.getParser(), String.class,
                    "expected a JSON string, got null");
        }
    }

    public static byte[] write(Object o) {
        try {
            return MAPPER.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + o.getClass().getSimpleName(), e);
        }
    }

    /**
     * {@link #write}'s bytes of {@code o}, built in {@code scratch} (which the caller owns and
     * reuses; it is reset first): only the exact-size result is new.
     */
    public static byte[] write(Object o, JsonBuffer scratch) {
        writeTo(o, scratch);
        return scratch.toByteArray();
    }

    /** Writes {@link #write}'s bytes of {@code o} into {@code scratch} (reset first); returns their length. */
    public static int writeTo(Object o, JsonBuffer scratch) {
        scratch.reset();
        try {
            MAPPER.writeValue(scratch, o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise " + o.getClass().getSimpleName(), e);
        }
        return scratch.length();
    }

    public static String writeString(Object o) {
        try {
            return MAPPER.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + o.getClass().getSimpleName(), e);
        }
    }

    /** Parses {@code bytes}; a failure is a {@link FormatException} naming {@code where}. */
    public static <T> T read(byte[] bytes, Class<T> type, String where) {
        try {
            T t = MAPPER.readValue(bytes, type);
            if (t == null) {
                throw new FormatException("malformed " + where + ": empty document");
            }
            return t;
        } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
            StringBuilder field = new StringBuilder();
            for (com.fasterxml.jackson.databind.JsonMappingException.Reference r : e.getPath()) {
                if (field.length() > 0) {
                    field.append('.');
                }
                field.append(r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]");
            }
            String f = field.length() == 0 ? "" : "field '" + field + "': ";
            throw new FormatException("malformed " + where + ": " + f + firstLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new FormatException("malformed " + where + ": " + firstLine(e.getMessage()), e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unparseable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
