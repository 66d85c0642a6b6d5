import cz.cesnet.cloud.occi.api.http.HTTPClient;
import cz.cesnet.cloud.occi.api.http.auth.BasicAuthentication;
import cz.cesnet.cloud.occi.api.http.auth.HTTPAuthentication;
import cz.cesnet.cloud.occi.api.http.auth.VOMSAuthentication;
import java.net.URI;
import java.util.List;

/**
 * jOCCI-api's authentication against an OCCI endpoint, then a listing: what a jOCCI user
 * runs, for pyocci's tests of the Keystone-like handshake.
 *
 * java JocciAuth ENDPOINT CA_DIRECTORY voms CREDENTIALS_FILE
 * java JocciAuth ENDPOINT CA_DIRECTORY basic USER PASSWORD
 *
 * The CA certificates are the *.pem files of CA_DIRECTORY (jOCCI's CA path); "-" names
 * none (plain HTTP).
 *
 * Prints "LISTED <uri>" for each compute, exits 0; on any failure prints "FAILED" with the
 * exception and its causes and exits 1.
 */
public class JocciAuth {
    public static void main(String[] arguments) {
        try {
            HTTPAuthentication authentication;
            if (arguments[2].equals("voms")) {
                authentication = new VOMSAuthentication(arguments[3]);
            } else {
                authentication = new BasicAuthentication(arguments[3], arguments[4]);
            }
            if (!arguments[1].equals("-")) {
                authentication.setCAPath(arguments[1]);
            }
            HTTPClient client = new HTTPClient(URI.create(arguments[0]), authentication, "text/plain", true);
            List<URI> listed = client.list("compute");
            for (URI location : listed) {
                System.out.println("LISTED " + location);
            }
            System.out.println("DONE " + listed.size());
        } catch (Throwable failure) {
            System.out.println("FAILED " + failure);
            for (Throwable cause = failure.getCause(); cause != null; cause = cause.getCause()) {
                System.out.println("  caused by: " + cause);
            }
            System.exit(1);
        }
    }
}
