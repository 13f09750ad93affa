// Liquibase 4.33.0 as a Spring Boot application runs it, for tests/compat:
// SpringLiquibase with Spring's resource loader over a class loader that holds
// the set's folder (as src/main/resources is on an app's classpath), so
// `classpath:` include/sqlFile paths resolve as they do in the app.  The
// Liquibase CLI cannot resolve them (no resource accessor of the CLI strips
// classpath:), which is why the sets that use them are run through this.
// Usage (cwd = the set's folder):
//   java -cp <liquibase jars>:<spring jars>:<this class> SpringRun CMD[,CMD...] CHANGELOG JDBC_URL USER PASSWORD [name=value...]
// CMD: update | status | validate | rollback-count:N.  CHANGELOG as the app
// names it (classpath:config/liquibase/master.xml).  status prints the CLI's
// phrases ("N changesets have not been applied to ..." / "... is up to date"),
// validate "No validation errors found."; exit 0 only if every CMD succeeded
// (unapplied changesets are not a failure, as with the CLI's status).
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import liquibase.Contexts;
import liquibase.LabelExpression;
import liquibase.Liquibase;
import liquibase.changelog.ChangeSet;
import liquibase.exception.LiquibaseException;
import liquibase.integration.spring.SpringLiquibase;
import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

public final class SpringRun extends SpringLiquibase {
    private String cmd;

    @Override
    protected void performUpdate(Liquibase liquibase) throws LiquibaseException {
        if (cmd.equals("update")) {
            super.performUpdate(liquibase);
        } else if (cmd.equals("status")) {
            List<ChangeSet> unrun = liquibase.listUnrunChangeSets(new Contexts(), new LabelExpression());
            String where = getDataSource() instanceof DriverManagerDataSource
                    ? ((DriverManagerDataSource) getDataSource()).getUrl() : "the database";
            if (unrun.isEmpty()) {
                System.out.println(where + " is up to date");
            } else {
                System.out.println(unrun.size() + " changesets have not been applied to " + where);
                for (ChangeSet cs : unrun)
                    System.out.println("     " + cs.getFilePath() + "::" + cs.getId() + "::" + cs.getAuthor());
            }
        } else if (cmd.equals("validate")) {
            liquibase.validate();
            System.out.println("No validation errors found.");
        } else if (cmd.startsWith("rollback-count:")) {
            liquibase.rollback(Integer.parseInt(cmd.substring("rollback-count:".length())), new Contexts(),
                    new LabelExpression());
        } else {
            throw new LiquibaseException("SpringRun: unknown command " + cmd);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: SpringRun CMD[,CMD...] CHANGELOG JDBC_URL USER PASSWORD [name=value...]");
            System.exit(2);
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 5; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            params.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        ClassLoader app = new URLClassLoader(new URL[] {new File(".").getCanonicalFile().toURI().toURL()},
                SpringRun.class.getClassLoader());
        Thread.currentThread().setContextClassLoader(app);
        int rc = 0;
        for (String cmd : args[0].split(",")) {
            System.out.println("=== spring-liquibase " + cmd);
            SpringRun r = new SpringRun();
            r.cmd = cmd;
            r.setResourceLoader(new DefaultResourceLoader(app));
            r.setDataSource(new DriverManagerDataSource(args[2], args[3], args[4]));
            r.setChangeLog(args[1]);
            r.setChangeLogParameters(params);
            try {
                r.afterPropertiesSet();
            } catch (Exception e) {
                rc = 1;
                Throwable t = e;
                while (t.getCause() != null && t.getMessage() != null && t.getMessage().startsWith("liquibase.exception"))
                    t = t.getCause();
                System.out.println("Unexpected error running Liquibase: " + t.getMessage());
            }
            System.out.println("=== exit " + rc);
        }
        System.exit(rc);
    }
}
