// An independent implementation of the provider's reference signing routine, in Java,
// written from the provider's published description (not from our Python code).
// Protocol (the same as `vexora-conformance check-signer`): one JSON object per stdin line,
// {"params": {...}, "secret": "..."}; one stdout line per case: the sign. With the argument
// --canonical it prints "SIGN HEX" where HEX is the UTF-8 of the canonical string, in hex.
// Only flat objects are supported (the reference cannot sign nested values portably).
import java.io.*;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.*;

public class Signer {
    public static void main(String[] args) throws Exception {
        boolean withCanonical = args.length > 0 && args[0].equals("--canonical");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            Map<String, Object> msg = (Map<String, Object>) new Json(line).value();
            Map<String, Object> params = (Map<String, Object>) msg.get("params");
            String secret = (String) msg.get("secret");
            // --- the reference routine ---
            List<String> keys = new ArrayList<>(params.keySet());
            Collections.sort(keys);
            StringBuilder sb = new StringBuilder();
            for (String key : keys) {
                String value = String.valueOf(params.get(key));
                if (key.equals("sign") || value.isEmpty()) continue;
                sb.append(key).append("=").append(value);
            }
            String canonical = sb.toString();
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            byte[] digest = md5.digest((canonical + secret).getBytes(StandardCharsets.UTF_8));
            String sign = String.format("%032x", new BigInteger(1, digest));
            // ---
            if (withCanonical) {
                StringBuilder hex = new StringBuilder();
                for (byte b : canonical.getBytes(StandardCharsets.UTF_8)) hex.append(String.format("%02x", b));
                out.println(sign + " " + hex);
            } else {
                out.println(sign);
            }
        }
    }

    // A minimal JSON reader: objects, arrays, strings, numbers (Long, BigInteger or Double), booleans, null.
    static final class Json {
        private final String s;
        private int i;
        Json(String s) { this.s = s; }
        Object value() {
            ws();
            char c = s.charAt(i);
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return string();
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            return number();
        }
        private void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }
        private Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            i++; ws();
            if (s.charAt(i) == '}') { i++; return m; }
            while (true) {
                ws(); String k = string(); ws(); i++; // ':'
                m.put(k, value()); ws();
                if (s.charAt(i++) == '}') return m;
            }
        }
        private List<Object> array() {
            List<Object> a = new ArrayList<>();
            i++; ws();
            if (s.charAt(i) == ']') { i++; return a; }
            while (true) {
                a.add(value()); ws();
                if (s.charAt(i++) == ']') return a;
            }
        }
        private String string() {
            StringBuilder b = new StringBuilder();
            i++; // opening quote
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c != '\\') { b.append(c); continue; }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': b.append('\n'); break;
                    case 't': b.append('\t'); break;
                    case 'r': b.append('\r'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: b.append(e);
                }
            }
        }
        private Object number() {
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String t = s.substring(start, i);
            if (t.contains(".") || t.contains("e") || t.contains("E")) return Double.valueOf(t);
            BigInteger big = new BigInteger(t);
            return big.bitLength() < 64 ? (Object) big.longValue() : big;
        }
    }
}
