// The reference Flyway for tests/compat: runs Flyway 13's own engine through
// its public API, because the flyway-commandline jar cannot start from Maven
// Central alone (it needs flyway-command-mcp, which Central does not serve).
// Usage: java -cp <flyway jars>:<dir of this class> FlywayRun CMD[,CMD...] flyway.key=value...
// CMD is migrate, validate or info; the flyway.* settings are those of a
// flyway.conf (flyway.url, flyway.locations, flyway.table, ...), handed to
// Flyway.configure().configuration(map) unchanged.  Several commands run in one
// JVM, in order; the exit code is 0 only when every one succeeded.
import java.util.LinkedHashMap;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.core.api.output.ValidateResult;
import org.flywaydb.core.api.output.ValidateOutput;

public final class FlywayRun {
    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: FlywayRun migrate|validate|info[,...] flyway.key=value...");
            System.exit(2);
        }
        Map<String, String> conf = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq < 0) {
                System.err.println("FlywayRun: not key=value: " + args[i]);
                System.exit(2);
            }
            conf.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        int rc = 0;
        try {
            Flyway flyway = Flyway.configure().configuration(conf).load();
            for (String cmd : args[0].split(",")) {
                switch (cmd) {
                    case "migrate": {
                        MigrateResult r = flyway.migrate();
                        System.out.println("migrate: " + r.migrationsExecuted + " applied, success=" + r.success);
                        if (!r.success) rc = 1;
                        break;
                    }
                    case "validate": {
                        ValidateResult r = flyway.validateWithResult();
                        if (r.validationSuccessful) {
                            System.out.println("validate: valid");
                        } else {
                            rc = 1;
                            System.out.println("validate: INVALID " + (r.errorDetails == null ? "" : r.errorDetails.errorMessage));
                            for (ValidateOutput o : r.invalidMigrations)
                                System.out.println("validate:   " + o.version + " " + o.filepath + ": "
                                        + (o.errorDetails == null ? "" : o.errorDetails.errorMessage));
                        }
                        break;
                    }
                    case "info": {
                        for (MigrationInfo m : flyway.info().all())
                            System.out.println("info: " + m.getVersion() + " | " + m.getDescription() + " | "
                                    + m.getState().getDisplayName());
                        break;
                    }
                    default:
                        System.err.println("FlywayRun: unknown command " + cmd);
                        System.exit(2);
                }
            }
        } catch (Exception e) {
            System.out.println("FlywayRun: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            System.exit(1);
        }
        System.exit(rc);
    }
}
