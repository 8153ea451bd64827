// Loads keystores/truststores written by the workbench the way a Java MQTT client would, and validates the
// device chain against the truststore. Run with the JDK 17 source launcher:
//   java LoadStores.java KS_PATH KS_TYPE TS_PATH TS_TYPE ALIAS [KS_PATH KS_TYPE TS_PATH TS_TYPE ALIAS ...]
// Passwords come from the environment: KS_PASS (store), KEY_PASS (key, defaults to KS_PASS), TS_PASS.
// Prints one line per case: "OK <alias> chain=<n> trusted=<m>" or "FAIL <reason>"; exits 1 on any failure.
import java.io.FileInputStream;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;

public class LoadStores {
    static KeyStore load(String path, String type, char[] password) throws Exception {
        KeyStore store = KeyStore.getInstance(type);
        try (FileInputStream in = new FileInputStream(path)) {
            store.load(in, password);
        }
        return store;
    }

    public static void main(String[] args) throws Exception {
        char[] ksPass = System.getenv("KS_PASS").toCharArray();
        String keyPassEnv = System.getenv("KEY_PASS");
        char[] keyPass = keyPassEnv == null ? ksPass : keyPassEnv.toCharArray();
        char[] tsPass = System.getenv("TS_PASS").toCharArray();
        boolean failed = false;
        for (int i = 0; i + 4 < args.length; i += 5) {
            try {
                KeyStore ks = load(args[i], args[i + 1], ksPass);
                KeyStore ts = load(args[i + 2], args[i + 3], tsPass);
                String alias = args[i + 4];
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, alias.startsWith("keypass:") ? keyPass : ksPass);
                alias = alias.replace("keypass:", "");
                X509KeyManager km = null;
                for (KeyManager m : kmf.getKeyManagers()) if (m instanceof X509KeyManager) km = (X509KeyManager) m;
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ts);
                X509TrustManager tm = null;
                for (TrustManager m : tmf.getTrustManagers()) if (m instanceof X509TrustManager) tm = (X509TrustManager) m;
                X509Certificate[] chain = km.getCertificateChain(alias);
                if (chain == null || km.getPrivateKey(alias) == null) throw new Exception("no key entry " + alias);
                String auth = chain[0].getPublicKey().getAlgorithm();
                tm.checkClientTrusted(chain, auth.equals("EC") ? "ECDHE_ECDSA" : "RSA");
                System.out.println("OK " + alias + " chain=" + chain.length + " trusted=" + tm.getAcceptedIssuers().length);
            } catch (Exception e) {
                failed = true;
                System.out.println("FAIL " + args[i] + " " + e);
            }
        }
        System.exit(failed ? 1 : 0);
    }
}
