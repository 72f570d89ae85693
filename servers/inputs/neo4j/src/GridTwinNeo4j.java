import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import inet.ipaddr.IPAddressString;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

/**
 * Starts the Neo4j 5.26 Community engine with only a Bolt connector on
 * loopback and authentication on, for machines where neither Docker nor the
 * Neo4j tarball is available. Usage:
 *
 *   GRIDTWIN_NEO4J_PASSWORD=... java -cp 'lib/*:classes' GridTwinNeo4j HOME BOLT_PORT PAGECACHE_MB
 *
 * The password of the built-in "neo4j" user comes from the environment (not the
 * command line, which other users can read) and is set on every start, so the
 * state folder follows the profile's configuration. SIGTERM shuts the engine
 * down cleanly through the shutdown hook.
 *
 * Loading data from outside the database is switched off in the server itself, so
 * no query (the analysts' console included) can read a file or make the server open a
 * connection: LOAD CSV from file URLs is refused, and every IPv4 and IPv6 address is
 * on the Cypher IP blocklist (LOAD CSV and any procedure that fetches a URL check it).
 * GridTwin never loads CSV or fetches URLs through Cypher, so nothing of ours needs them.
 */
public final class GridTwinNeo4j {
    private GridTwinNeo4j() {}

    public static void main(String[] args) throws InterruptedException {
        String password = System.getenv("GRIDTWIN_NEO4J_PASSWORD");
        if (args.length != 3 || password == null || password.isEmpty()) {
            System.err.println("usage: GRIDTWIN_NEO4J_PASSWORD=... GridTwinNeo4j HOME BOLT_PORT PAGECACHE_MB");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int boltPort = Integer.parseInt(args[1]);
        long pageCacheMb = Long.parseLong(args[2]);

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", boltPort))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", boltPort))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "2 files")
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .setConfig(GraphDatabaseInternalSettings.cypher_ip_blocklist,
                        List.of(new IPAddressString("0.0.0.0/0"), new IPAddressString("::/0")))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }, "gridtwin-neo4j-shutdown"));

        setPassword(dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), password);
        System.out.println("GRIDTWIN_NEO4J_READY bolt://127.0.0.1:" + boltPort);
        System.out.flush();
        stopped.await();
    }

    private static void setPassword(GraphDatabaseService system, String password) {
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (RuntimeException error) {
            // Neo4j refuses to "change" a password to the value it already has.
            if (!String.valueOf(error.getMessage()).contains("Old password and new password cannot be the same")) {
                throw error;
            }
        }
    }
}
