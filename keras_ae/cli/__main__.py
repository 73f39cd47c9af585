from keras_ae.cli import main

main()
