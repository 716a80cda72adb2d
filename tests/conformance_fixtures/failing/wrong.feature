# Scenarios that must FAIL: the runner has to be able to say no.
Feature: Fixture - wrong expectations

  Scenario: wrong_count
    Given the modern graph
    And the traversal of
      """
      g.V().hasLabel("person").count()
      """
    When iterated to list
    Then the result should be ordered
      | result |
      | d[3].l |

  Scenario: wrong_members
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
      | zoe |

  Scenario: error_expected_but_none_raised
    Given the modern graph
    And the traversal of
      """
      g.V()
      """
    When iterated to list
    Then the traversal will raise an error

  Scenario: does_not_parse
    Given the modern graph
    And the traversal of
      """
      g.V().out(
      """
    When iterated to list
    Then the result should be empty

  Scenario: graph_count_is_wrong
    Given the empty graph
    And the traversal of
      """
      g.addV("person")
      """
    When iterated to list
    Then the result should have a count of 1
    And the graph should return 5 for count of "g.V()"
