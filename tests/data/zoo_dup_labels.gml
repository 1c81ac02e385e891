graph [
  comment "Raw Topology Zoo GML style, written for dtopt's tests: two nodes share a label."
  directed 0
  multigraph 1
  node [ id 0 label "Paris" Latitude 48.85341 Longitude 2.3488 ]
  node [ id 1 label "Lyon" Latitude 45.74846 Longitude 4.84671 ]
  node [ id 2 label "Lyon" Latitude 45.76 Longitude 4.83 ]
  node [ id 3 label "Marseille" Latitude 43.29695 Longitude 5.38107 ]
  edge [ source 0 target 1 ]
  edge [ source 1 target 2 ]
  edge [ source 2 target 3 ]
  edge [ source 0 target 3 LinkLabel "long haul" ]
  edge [ source 0 target 1 ]
]
