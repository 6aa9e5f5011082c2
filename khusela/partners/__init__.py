"""Partners: cooperation agreements and their delivery, joint operations, community partners
(CPFs, neighbourhood watches), community alerts, patrol reports and anonymous tips."""
