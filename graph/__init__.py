"""The twin graph on Neo4j: connections, Cypher, twins, relationships and topology."""
