graph [
  comment "Written for dtopt's tests: parallel links of different given lengths (km), no multigraph header, a directed file, a multigraph 0 header that is wrong."
  directed 1
  multigraph 0
  node [ id 0 label "a" ]
  node [ id 1 label "b" ]
  node [ id 2 label "c" ]
  edge [ source 0 target 1 length_km 50.0 ]
  edge [ source 0 target 1 length_km 20.0 ]
  edge [ source 1 target 0 length_km 30.0 ]
  edge [ source 1 target 2 length_km 5.0 ]
]
