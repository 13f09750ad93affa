// Several Liquibase commands in one JVM, for the cross-checks of tests/compat
// (JVM start-up dominates a Liquibase run; the timed `update` is never run
// through this: it starts its own JVM, as a user's would).
// Usage: java -cp <liquibase jars>:<dir of this class> LiquibaseRun ARGS... [--then ARGS...]...
// Each ARGS group is exactly what `liquibase` (LiquibaseCommandLine) takes.
// Before group i (from 1) it prints "=== group i", after it "=== exit <code>";
// the process exits 0 only when every group did.
import java.util.ArrayList;
import java.util.List;
import liquibase.integration.commandline.LiquibaseCommandLine;

public final class LiquibaseRun {
    public static void main(String[] args) {
        List<List<String>> groups = new ArrayList<>();
        groups.add(new ArrayList<>());
        for (String a : args) {
            if (a.equals("--then")) groups.add(new ArrayList<>());
            else groups.get(groups.size() - 1).add(a);
        }
        int worst = 0;
        int i = 0;
        for (List<String> g : groups) {
            System.out.println("=== group " + (++i));
            System.out.flush();
            int rc = new LiquibaseCommandLine().execute(g.toArray(new String[0]));
            System.out.flush();
            System.err.flush();
            System.out.println("=== exit " + rc);
            if (rc != 0) worst = rc;
        }
        System.exit(worst);
    }
}
