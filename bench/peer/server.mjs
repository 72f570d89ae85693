// The peer of issue 15: the Neo4j GraphQL Library (@neo4j/graphql 7) under Apollo Server 4, on the same
// Neo4j and labels as GridTwin's twin graph.  Started by bench/peer_read_bench.py with the packages
// installed into ~/.cache/gridtwin/peer (NODE_PATH); no authentication (the bench says so).
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import neo4j from "neo4j-driver";

const typeDefs = `#graphql
type Substation @node(labels: ["Substation", "Twin"]) {
  id: ID!
  name: String
  status: String
  bayCount: Int
  highestVoltage: Float
  staffed: Boolean
  feedsTo: [Load!]! @relationship(type: "FEEDS_TO", direction: OUT)
}
type Load @node(labels: ["Load", "Twin"]) { id: ID! name: String }
type Line @node(labels: ["Line", "Twin"]) {
  id: ID!
  name: String
  feedsTo: [Line!]! @relationship(type: "FEEDS_TO", direction: OUT)
  downstream: [Line!]! @cypher(statement: "MATCH (this)-[:FEEDS_TO*1..5]->(d:Line) RETURN DISTINCT d", columnName: "d")
}
`;

const driver = neo4j.driver(process.env.NEO4J_URI, neo4j.auth.basic(process.env.NEO4J_USER, process.env.NEO4J_PASSWORD),
                            { maxConnectionPoolSize: 64 });
const neoSchema = new Neo4jGraphQL({ typeDefs, driver });
const server = new ApolloServer({ schema: await neoSchema.getSchema() });
const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT), host: "127.0.0.1" } });
console.log(`ready ${url}`);
