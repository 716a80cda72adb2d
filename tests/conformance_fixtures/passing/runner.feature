# Scenarios written for the runner's own tests, against tests/conformance_fixtures/data.
@StepClassFixture
Feature: Fixture - the runner's outcomes

  Scenario: count_people_ordered
    Given the modern graph
    And the traversal of
      """
      g.V().hasLabel("person").count()
      """
    When iterated to list
    Then the result should be ordered
      | result |
      | d[2].l |

  Scenario: out_vertices_unordered
    Given the modern graph
    And the traversal of
      """
      g.V().out()
      """
    When iterated to list
    Then the result should be unordered
      | result |
      | v[acme] |
      | v[bob] |
      | v[acme] |

  Scenario: parameter_vertex_id
    Given the modern graph
    And using the parameter vid1 defined as "v[alice].id"
    And the traversal of
      """
      g.V(vid1).out("knows").values("name")
      """
    When iterated to list
    Then the result should be ordered
      | result |
      | bob |

  Scenario: any_of_the_names
    Given the modern graph
    And the traversal of
      """
      g.V().values("name").limit(2)
      """
    When iterated to list
    Then the result should be of
      | result |
      | alice |
      | bob |
      | acme |
    And the result should have a count of 2

  Scenario: value_map_with_typed_numbers
    Given the modern graph
    And the traversal of
      """
      g.V().has("name", "bob").valueMap("name", "age")
      """
    When iterated to list
    Then the result should be unordered
      | result |
      | m[{"name": ["bob"], "age": ["d[25].i"]}] |

  Scenario: element_map_tokens
    Given the modern graph
    And the traversal of
      """
      g.V().has("name", "bob").elementMap()
      """
    When iterated to list
    Then the result should be unordered
      | result |
      | m[{"t[id]": "v[bob].id", "t[label]": "person", "name": "bob", "age": "d[25].i"}] |

  Scenario: paths_and_edges
    Given the modern graph
    And the traversal of
      """
      g.V().has("name", "alice").outE("knows").inV().path()
      """
    When iterated to list
    Then the result should be unordered
      | result |
      | p[v[alice],e[alice-knows->bob],v[bob]] |

  Scenario: weights_as_doubles
    Given the modern graph
    And the traversal of
      """
      g.E().values("weight")
      """
    When iterated to list
    Then the result should be unordered
      | result |
      | d[0.5].d |
      | d[1.0].d |
      | d[0.2].d |

  Scenario: iterated_next_expands_the_list
    Given the modern graph
    And the traversal of
      """
      g.V().values("name").fold()
      """
    When iterated next
    Then the result should be unordered
      | result |
      | alice |
      | bob |
      | acme |

  Scenario: nothing_found
    Given the modern graph
    And the traversal of
      """
      g.V().has("name", "nobody")
      """
    When iterated to list
    Then the result should be empty

  Scenario: drop_on_the_modern_graph
    Given the modern graph
    And the traversal of
      """
      g.V().has("name", "bob").drop()
      """
    When iterated to list
    Then the result should be empty
    And the graph should return 2 for count of "g.V()"

  Scenario: modern_graph_is_reloaded_after_a_write
    Given the modern graph
    And the traversal of
      """
      g.V().values("name")
      """
    When iterated to list
    Then the result should be unordered
      | result |
      | alice |
      | bob |
      | acme |

  Scenario: empty_graph_with_initializer
    Given the empty graph
    And the graph initializer of
      """
      g.addV("person").property(T.id, 100).property("name", "zed")
      """
    And using the parameter xx1 defined as "v[zed].id"
    And the traversal of
      """
      g.V(xx1).addE("knows").to(__.addV("person").property("name", "yan"))
      """
    When iterated to list
    Then the result should have a count of 1
    And the graph should return 2 for count of "g.V().hasLabel(\"person\")"
    And the graph should return 1 for count of "g.E().hasLabel(\"knows\")"

  Scenario: expected_error_with_message
    Given the empty graph
    And the graph initializer of
      """
      g.addV("person").property(T.id, 100)
      """
    And the traversal of
      """
      g.addV("person").property(T.id, 100)
      """
    When iterated to list
    Then the traversal will raise an error with message containing text of "already exists"
    And the graph should return 1 for count of "g.V()"

  @MultiProperties @MetaProperties
  Scenario: crew_multi_and_meta_properties
    Given the crew graph
    And the traversal of
      """
      g.V().properties("location").has("startTime", 2005).value()
      """
    When iterated to list
    Then the result should be unordered
      | result |
      | lima |

  Scenario: lambda_is_skipped
    Given the modern graph
    And using the parameter l1 defined as "c[it.get()]"
    And the traversal of
      """
      g.V().map(l1)
      """
    When iterated to list
    Then the result should have a count of 3

  @GraphComputerOnly
  Scenario: graph_computer_is_skipped
    Given the modern graph
    And the traversal of
      """
      g.V().pageRank()
      """
    When iterated to list
    Then the result should have a count of 3

  Scenario: declared_unsupported_is_skipped
    Given an unsupported test
    Then nothing should happen because
      """
      The fixture says so.
      """

  Scenario: unsupported_step_is_skipped
    Given the modern graph
    And the traversal of
      """
      g.withComputer().V()
      """
    When iterated to list
    Then the result should have a count of 3

  Scenario: lambda_in_the_text_is_skipped
    Given the modern graph
    And the traversal of
      """
      g.V().map(Lambda.function("it.get()"))
      """
    When iterated to list
    Then the result should have a count of 3

  Scenario: next_on_nothing_is_an_error
    Given the modern graph
    And the traversal of
      """
      g.V().has("name", "nobody").fold().unfold()
      """
    When iterated next
    Then the traversal will raise an error
